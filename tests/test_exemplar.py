"""Exemplar-guided style transfer: AdaIN, the style-based generator, VGG-19 loading, the feature
losses, the training step's phases and end-to-end runs of train(cfg) on the demo data."""

from __future__ import annotations

import functools
from pathlib import Path

import hydra
import pytest
import torch
from hydra.errors import InstantiationException

from style_gan.data.content_style import ContentStyleDataModule
from style_gan.data.datamodule import UnpairedDataModule
from style_gan.errors import CheckpointError, ConfigError
from style_gan.gan.perceptual import content_loss, style_loss
from style_gan.methods.exemplar import ExemplarStyleTransfer
from style_gan.nets.feature_networks import EfficientNetLiteMaps
from style_gan.nets.init import init_weights
from style_gan.nets.style_transfer import StyleTransferGenerator, adain
from style_gan.nets.vgg import VGG19_FILE, VGG19_URL, VGG19Features
from style_gan.run.cli import root_error
from style_gan.train import train
from tests.conftest import (
    PhaseRecorder,
    assert_g_then_d,
    bare_trainer,
    same,
    train_steps,
    write_image,
    write_unpaired_layout,
    write_vgg_weights,
)

SMALL = [
    "model=exemplar",
    "data.image_size=32",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "model.generator.base_channels=4",
    "model.generator.n_res=1",
    "model.generator.mlp_dim=16",
    "model.discriminator.base_channels=8",
    "metrics=none",
]


@pytest.fixture
def config(compose_train):
    """``config(*overrides, run_dir=None)``: model=exemplar on the demo data, tiny and fast."""
    return functools.partial(compose_train, *SMALL)


def population_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x.mean(dim=(2, 3)), x.std(dim=(2, 3), unbiased=False)


def test_adain_output_has_the_style_features_channel_mean_and_std() -> None:
    generator = torch.Generator().manual_seed(0)
    content = torch.randn(2, 5, 8, 8, generator=generator) * 3 + 1
    style = torch.randn(2, 5, 6, 7, generator=generator) * 0.5 - 2
    out = adain(content, style)
    assert out.shape == content.shape
    out_mean, out_std = population_stats(out)
    style_mean, style_std = population_stats(style)
    assert torch.allclose(out_mean, style_mean, atol=1e-4)
    assert torch.allclose(out_std, style_std, atol=1e-4)
    # Layout kept: per channel an increasing affine map of the content.
    ranks = content.flatten(2).argsort(-1)
    assert torch.equal(out.flatten(2).argsort(-1), ranks)
    with pytest.raises(ValueError, match="same"):
        adain(content, style[:, :3])


def test_generator_shapes_and_alpha_interpolates_the_style_code() -> None:
    torch.manual_seed(0)
    # Initialised as the method does.
    g = init_weights(StyleTransferGenerator(base_channels=4, n_res=1, mlp_dim=16), "kaiming")
    content = torch.rand(2, 3, 32, 32) * 2 - 1
    style = torch.rand(2, 3, 48, 40) * 2 - 1  # an exemplar of another size
    with torch.no_grad():
        out = g(content, style)
        assert out.shape == content.shape and out.abs().max() <= 1
        assert g.encode_style(style).shape == (2, 8)
        assert g.encode_content(content).shape == (2, 16, 8, 8)
        half = g.style_code(content, style, 0.5)
        expected = 0.5 * g.encode_style(style) + 0.5 * g.encode_style(content)
        assert torch.allclose(half, expected, atol=1e-6)
        assert torch.allclose(g(content, style, 0.5), g.decode(g.encode_content(content), half))
        own = g(content, style, alpha=0.0)
        assert torch.allclose(own, g(content, content), atol=1e-6)
        assert (own - out).abs().mean() > 1e-2
    with pytest.raises(ValueError, match="divisible by 4"):
        g(torch.zeros(1, 3, 30, 32), style[:1])


def test_vgg19_loads_only_the_needed_layers_from_a_weights_file(tmp_path, monkeypatch) -> None:
    state = write_vgg_weights(tmp_path / "hub" / "checkpoints" / VGG19_FILE)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    vgg = VGG19Features()  # found in $TORCH_HOME/hub/checkpoints
    assert torch.equal(vgg.features[19].weight, state["features.19.weight"])
    maps = vgg(torch.rand(2, 3, 32, 32))
    assert [tuple(m.shape[1:]) for m in maps] == [
        (64, 32, 32),
        (128, 16, 16),
        (256, 8, 8),
        (512, 4, 4),
    ]
    assert not any(p.requires_grad for p in vgg.parameters())
    assert not vgg.train().training


def test_missing_vgg19_weights_fail_in_one_line_naming_file_folder_and_url(
    tmp_path, monkeypatch, config
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(CheckpointError) as error:
        VGG19Features()
    message = str(error.value)
    assert "\n" not in message and VGG19_FILE in message and VGG19_URL in message
    assert str(tmp_path / "empty" / "hub" / "checkpoints") in message
    # At start-up of a run, from the config switch.
    cfg = config("model.feature_net=vgg19", f"model.vgg_weights={tmp_path / 'nope.pth'}")
    with pytest.raises(InstantiationException) as wrapped:  # the CLI prints its cause
        hydra.utils.instantiate(cfg.model)
    cause = root_error(wrapped.value)
    assert isinstance(cause, CheckpointError)
    assert f"nope.pth not found in {tmp_path};" in str(cause) and "\n" not in str(cause)
    # A file missing the needed layers fails clearly too.
    partial = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, partial)
    with pytest.raises(CheckpointError, match="lack"):
        VGG19Features(partial)


def test_vgg19_feature_net_trains_from_the_config_switch(tmp_path, config) -> None:
    weights = tmp_path / VGG19_FILE
    write_vgg_weights(weights)
    cfg = config("model.feature_net=vgg19", f"model.vgg_weights={weights}")
    model = hydra.utils.instantiate(cfg.model)
    assert isinstance(model.features(), VGG19Features)
    bare_trainer(train_batches=1, val_batches=0).fit(
        model, datamodule=hydra.utils.instantiate(cfg.data)
    )


@pytest.mark.parametrize("which", ["efficientnet", "vgg"])
def test_content_and_style_losses_are_zero_for_identical_inputs(which, tmp_path) -> None:
    if which == "vgg":
        write_vgg_weights(tmp_path / VGG19_FILE)
        net = VGG19Features(tmp_path / VGG19_FILE)
    else:
        net = EfficientNetLiteMaps()
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    assert content_loss(net, x, x) == 0 and style_loss(net, x, x) == 0
    assert content_loss(net, x, y) > 0 and style_loss(net, x, y) > 0
    # The style loss compares statistics only: an exemplar of another size works.
    assert style_loss(net, x, torch.rand(2, 3, 48, 48) * 2 - 1) > 0
    with pytest.raises(ConfigError, match="out of range"):
        style_loss(net, x, y, layers=[7])


def test_one_step_each_phase_leaves_the_other_network_and_the_feature_net_alone(config) -> None:
    cfg = config()
    model: ExemplarStyleTransfer = hydra.utils.instantiate(cfg.model)
    recorder = PhaseRecorder(
        {"g": lambda m: m.generator, "d": lambda m: m.discriminator, "phi": lambda m: m.features()}
    )
    trainer = bare_trainer(recorder, train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=hydra.utils.instantiate(cfg.data))

    start, g_step, d_step, end = assert_g_then_d(recorder.steps)
    # The feature network: no gradients, no updates (BatchNorm statistics included), eval mode,
    # in no optimizer and no checkpoint.
    assert not g_step["phi_has_grad"] and not d_step["phi_has_grad"]
    assert same(end["phi"], start["phi"])
    assert not model.features().training
    phi = {id(p) for p in model.features().parameters()}
    optimized = {id(p) for opt in trainer.optimizers for g in opt.param_groups for p in g["params"]}
    assert not phi & optimized
    assert not any("feature" in key for key in model.state_dict())
    assert trainer.global_step == 2


def test_evaluation_never_uses_the_contents_own_target_as_exemplar(config, tmp_path) -> None:
    # Folders paired by file name, like the demo's testA/testB: the data hands out another
    # image as the style exemplar and the true answer as target.
    root = write_unpaired_layout(tmp_path / "pairs", count=3, size=(32, 32))
    datamodule = UnpairedDataModule(
        root,
        preprocess="resize",
        load_size=32,
        crop_size=32,
        num_workers=0,
        eval_batch_size=3,
        validate_on_test=True,
    )
    datamodule.setup("fit")
    batch = next(iter(datamodule.val_dataloader()))
    for content_path, style_path in zip(batch["content_path"], batch["style_path"], strict=True):
        assert Path(content_path).name != Path(style_path).name
    assert not torch.equal(batch["style"], batch["target"])
    model: ExemplarStyleTransfer = hydra.utils.instantiate(config().model)
    with torch.no_grad():
        assert torch.equal(model.translate(batch), model(batch["content"], batch["style"]))
    rows = model.sample_images(batch)
    assert list(rows) == ["content", "exemplar", "stylised", "alpha_0.5"]
    assert all(row.shape == batch["content"].shape for row in rows.values())


def test_content_style_data_pairs_evaluation_content_with_another_exemplar(tmp_path) -> None:
    root = write_unpaired_layout(tmp_path / "pairs", count=3, size=(32, 32))
    write_image(root / "trainA" / "extra.png", (32, 32), seed=7)  # 4 content, 3 style
    datamodule = ContentStyleDataModule(
        root,
        preprocess="resize",
        load_size=32,
        crop_size=32,
        num_workers=0,
        eval_batch_size=3,
        validate_on_test=True,
    )
    datamodule.setup("fit")
    train_set, val_set = datamodule.datasets["train"], datamodule.datasets["val"]
    assert len(train_set) == 4 and "target" not in train_set[0]
    assert len(val_set) == 3
    for index in range(3):
        item = val_set[index]
        assert Path(item["style_path"]).name == f"{(index + 1) % 3:03d}.png"
        assert torch.equal(item["target"], val_set[(index + 2) % 3]["style"])
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["content"].shape == batch["target"].shape == (3, 3, 32, 32)


def test_train_on_the_demo_data_then_resume_from_last_checkpoint(config, tmp_path) -> None:
    first = tmp_path / "first"
    metrics = train(config("trainer.limit_train_batches=3", run_dir=first))
    last = first / "checkpoints" / "last.ckpt"
    assert last.is_file() and (first / "samples" / "final.png").is_file()
    assert train_steps(first) == [0, 1, 2]
    losses = {"train/g", "train/d", "train/content", "train/style", "train/reconstruction"}
    assert losses | {"val/content", "val/style"} <= set(metrics)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())

    resumed = tmp_path / "resumed"
    train(
        config(
            "trainer.limit_train_batches=3",
            "trainer.max_epochs=2",
            f"ckpt_path={last}",
            run_dir=resumed,
        )
    )
    checkpoint = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 12 and checkpoint["epoch"] == 1
    assert train_steps(resumed) == [3, 4, 5]
