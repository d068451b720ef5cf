"""CUT/FastCUT: PatchNCE, the patch sampler, the generator's encoder features, one training
step observed inside a real Lightning fit, and a few batches of train(cfg) with a resume."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import hydra
import pytest
import torch
from omegaconf import DictConfig

from style_gan.errors import ConfigError
from style_gan.gan.losses import PatchNCELoss
from style_gan.methods.cut import CUT
from style_gan.nets.generators import ResnetGenerator
from style_gan.nets.patch_sampler import PatchSampler
from style_gan.train import train
from tests.conftest import (
    PhaseRecorder,
    assert_g_then_d,
    bare_trainer,
    same,
)

SMALL = [
    "data.image_size=32",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "model.generator.base_channels=4",
    "model.discriminator.base_channels=8",
    "model.num_patches=32",
    "model.projection_channels=16",
    "metrics=none",
]


@pytest.fixture
def cut_config(compose_train) -> Callable[..., DictConfig]:
    """``cut_config(model, *overrides, run_dir=None)``: conf/train.yaml, tiny and fast."""

    def make(model: str, *overrides: str, run_dir: Path | None = None) -> DictConfig:
        return compose_train(f"model={model}", *SMALL, *overrides, run_dir=run_dir)

    return make


# --- PatchNCE -------------------------------------------------------------------------------


def test_patch_nce_matches_a_hand_computation_and_does_not_train_the_keys() -> None:
    tau = 0.5
    query = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], requires_grad=True)
    key = torch.tensor([[[1.0, 0.0], [0.6, 0.8]]], requires_grad=True)
    # Row 0: q·k⁺ = 1, q·k⁻ = 0.6; row 1: q·k⁺ = 0.8, q·k⁻ = 0.
    expected = (
        -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + math.exp(0.6 / tau)))
        - math.log(math.exp(0.8 / tau) / (math.exp(0.8 / tau) + math.exp(0 / tau)))
    ) / 2
    loss = PatchNCELoss(tau)(query, key)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert query.grad is not None and key.grad is None


def test_patch_nce_negatives_come_from_the_same_image_only() -> None:
    # Two images of one patch each: no negatives within an image, so the loss is 0 even
    # though the other image's key would match the query better.
    query = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    key = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]]])
    assert PatchNCELoss()(query, key).item() == pytest.approx(0.0, abs=1e-6)


def test_patch_nce_is_lower_for_identical_features_than_for_shuffled_ones() -> None:
    torch.manual_seed(0)
    features = torch.nn.functional.normalize(torch.randn(2, 64, 16), dim=-1)
    shuffled = features[:, torch.randperm(64)]
    nce = PatchNCELoss(0.07)
    assert nce(features, features) < 0.1 < math.log(64) / 2 < nce(features, shuffled)


# --- patch sampler and the generator's encoder ----------------------------------------------


def test_sampler_uses_the_query_locations_for_the_keys_and_projects_onto_the_sphere() -> None:
    torch.manual_seed(0)
    sampler = PatchSampler([3, 5], num_patches=10, out_channels=8)
    queries = [torch.randn(2, 3, 6, 6), torch.randn(2, 5, 3, 3)]  # 36 and 9 locations
    keys = [torch.randn(2, 3, 6, 6), torch.randn(2, 5, 3, 3)]
    q, ids = sampler(queries)
    k, key_ids = sampler(keys, ids)
    assert [t.shape for t in q] == [(2, 10, 8), (2, 9, 8)]  # 9 < 10: all locations
    assert all(torch.equal(a, b) for a, b in zip(ids, key_ids, strict=True))
    assert sorted(ids[1].tolist()) == list(range(9)) and len(set(ids[0].tolist())) == 10
    assert all(torch.allclose(t.norm(dim=-1), torch.ones(2, t.shape[1])) for t in q + k)
    # The sampled rows are the projected features at those locations: keys given their own
    # features back as queries at the same ids project identically.
    k_again, _ = sampler(keys, ids)
    assert all(torch.equal(a, b) for a, b in zip(k, k_again, strict=True))
    location = ids[0][0].item()
    row, col = divmod(location, 6)
    expected = torch.nn.functional.normalize(sampler.heads[0](keys[0][:, :, row, col]), dim=-1)
    assert torch.allclose(k[0][:, 0], expected, atol=1e-6)


def test_resnet_generator_encode_is_the_forward_pass_prefix_and_keeps_its_size() -> None:
    assert sum(p.numel() for p in ResnetGenerator().parameters()) == 11_378_179
    generator = ResnetGenerator(base_channels=4).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    layers = [0, 4, 8, 12, 16]
    with torch.no_grad():
        before = generator(x)
        features = generator.encode(x, layers)
        expected, h = {}, x
        for index, layer in enumerate(generator.model):
            h = layer(h.clone())
            expected[index] = h
        assert torch.equal(generator(x), before)  # encode changed nothing
    assert all(torch.allclose(f, expected[i]) for f, i in zip(features, layers, strict=True))
    assert [f.shape[1:] for f in features] == [
        (3, 38, 38),
        (8, 16, 16),
        (16, 8, 8),
        (16, 8, 8),
        (16, 8, 8),
    ]
    assert generator.feature_channels(layers) == [3, 8, 16, 16, 16]
    with pytest.raises(ConfigError, match="encoder layers"):
        generator.encode(x, [0, 99])


# --- the method -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["cut", "fastcut"])
def test_g_phase_trains_g_and_f_only_and_d_phase_trains_d_only(cut_config, model_name) -> None:
    cfg = cut_config(model_name)
    model: CUT = hydra.utils.instantiate(cfg.model)
    recorder = PhaseRecorder(
        {"g": lambda m: m.generator, "f": lambda m: m.patch_sampler, "d": lambda m: m.discriminator}
    )
    trainer = bare_trainer(recorder, train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=hydra.utils.instantiate(cfg.data))

    start, _, d_step, end = assert_g_then_d(recorder.steps)
    # G's optimizer step moves the sampler F too; D's leaves it alone.
    assert not same(d_step["f"], start["f"]) and same(end["f"], d_step["f"])
    assert trainer.global_step == 2


def test_fastcut_is_a_config_of_the_same_module(cut_config) -> None:
    cut, fast = (hydra.utils.instantiate(cut_config(m).model) for m in ("cut", "fastcut"))
    assert type(cut) is type(fast) is CUT
    assert (cut.hparams.lambda_nce, cut.hparams.nce_idt) == (1.0, True)
    assert (fast.hparams.lambda_nce, fast.hparams.nce_idt, fast.hparams.flip_equivariance) == (
        10.0,
        False,
        True,
    )
    assert cut.nce_layers == [0, 4, 8, 12, 16] and cut.hparams.nce_temperature == 0.07


def test_forward_nce_loss_and_sample_rows(cut_config) -> None:
    model: CUT = hydra.utils.instantiate(cut_config("cut").model)
    content = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model(content).shape == content.shape
    assert model.translate({"content": content}).shape == content.shape
    loss = model.nce_loss(content, model.generator(content))
    assert loss.ndim == 0 and torch.isfinite(loss)
    # Flip equivariance: a flipped input's output features are flipped back to line up.
    flipped = model.nce_loss(content, model.generator(content.flip(-1)), flipped=True)
    assert torch.isfinite(flipped)
    rows = model.sample_images({"content": content, "style": content})
    assert list(rows) == ["content", "translated", "identity", "style"]
    assert all(r.shape == content.shape for r in rows.values())


def test_a_generator_without_encoder_features_is_refused(cut_config) -> None:
    cfg = cut_config("cut", "model/generator=unet_128")
    with pytest.raises(Exception, match="encode") as caught:
        hydra.utils.instantiate(cfg.model)
    assert isinstance(caught.value.__cause__, ConfigError)  # Hydra wraps it; the CLI unwraps


@pytest.mark.parametrize("model_name", ["cut", "fastcut"])
def test_train_runs_a_few_batches_and_resumes_from_last_ckpt(
    cut_config, tmp_path, model_name
) -> None:
    first = tmp_path / "first"
    metrics = train(cut_config(model_name, run_dir=first))
    last = first / "checkpoints" / "last.ckpt"
    assert last.is_file() and (first / "samples" / "final.png").is_file()
    assert {"train/g", "train/d", "train/g_adv", "train/nce", "val/nce"} <= set(metrics)
    assert ("train/nce_idt" in metrics) == (model_name == "cut")
    assert all(math.isfinite(v) for v in metrics.values())
    stopped = torch.load(last, weights_only=True)
    assert stopped["global_step"] == 4
    assert any(k.startswith("patch_sampler.") for k in stopped["state_dict"])

    resumed = tmp_path / "resumed"
    train(cut_config(model_name, "trainer.max_epochs=2", f"ckpt_path={last}", run_dir=resumed))
    after = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert after["global_step"] == 8 and after["epoch"] == 1
    # The sampler kept training from its checkpointed weights (both optimizers resumed).
    assert len(after["optimizer_states"]) == 2
    key = next(k for k in after["state_dict"] if k.startswith("patch_sampler."))
    assert not torch.equal(after["state_dict"][key], stopped["state_dict"][key])


@pytest.mark.parametrize("model_name", ["cut", "fastcut"])
def test_pixel_identity_term_trains_when_weighted_and_is_refused_negative(
    cut_config, tmp_path, model_name
) -> None:
    metrics = train(cut_config(model_name, "model.lambda_identity=5", run_dir=tmp_path / "run"))
    # ‖G(y) - y‖₁ of an untrained G on [-1, 1] images: positive, below the range's 2.
    assert 0 < metrics["train/idt"] < 2
    assert math.isfinite(metrics["train/g"])
    off = train(cut_config(model_name, "model.lambda_identity=0", run_dir=tmp_path / "off"))
    assert "train/idt" not in off
    with pytest.raises(Exception, match="lambda_identity=-1") as caught:
        hydra.utils.instantiate(cut_config(model_name, "model.lambda_identity=-1").model)
    assert isinstance(caught.value.__cause__, ConfigError)
