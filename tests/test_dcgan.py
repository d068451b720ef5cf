"""DCGAN: the networks' shapes, one training step seen from inside a real Lightning fit, the
fixed sample noise, and short end-to-end runs of train(cfg) on the demo data."""

from __future__ import annotations

import functools

import hydra
import lightning as L
import pytest
import torch
from omegaconf import DictConfig
from torch import nn
from torchmetrics.image import StructuralSimilarityIndexMeasure

from style_gan.errors import ConfigError
from style_gan.gan.adversarial import Adversarial
from style_gan.methods.dcgan import DCGAN
from style_gan.metrics.suite import MetricSuite
from style_gan.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from style_gan.run.cli import root_error
from style_gan.train import train
from tests.conftest import (
    PhaseRecorder,
    assert_g_then_d,
    bare_trainer,
    same,
    train_steps,
)

# DCGAN's own small sizes (conftest's FAST has CycleGAN-only keys).
SMALL = [
    "model=dcgan",
    "data.image_size=32",
    "data.batch_size=2",
    "data.eval_batch_size=2",
    "model.generator.base_channels=4",
    "model.discriminator.base_channels=4",
    "metrics=none",
]


@pytest.fixture
def dcgan_config(compose_train):
    """``dcgan_config(*overrides, run_dir=None)``: conf/train.yaml with model=dcgan, small."""
    return functools.partial(compose_train, *SMALL)


def parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("size", [32, 64])
def test_generator_and_discriminator_shapes(size: int) -> None:
    generator = DCGANGenerator(image_size=size, base_channels=4)
    discriminator = DCGANDiscriminator(image_size=size, base_channels=4)
    z = torch.randn(3, 100, 1, 1)
    images = generator(z)
    assert images.shape == (3, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1  # tanh
    assert generator(z.flatten(1)).shape == images.shape  # (B, z) is accepted too
    assert discriminator(images).shape == (3,)  # one logit per image
    # 4x4 maps, then one stride-2 layer per doubling: 3 at 32 px, 4 at 64 px.
    stages = {32: 3, 64: 4}[size]
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in generator.modules()) == stages + 1
    assert sum(isinstance(m, nn.Conv2d) for m in discriminator.modules()) == stages + 1


def test_paper_size_parameter_counts() -> None:
    # The PyTorch DCGAN tutorial's 3,576,704 and 2,765,568, plus the biases of the layers not
    # followed by batch norm (G's RGB layer: 3; D's first conv and logit conv: 64 + 1).
    assert parameters(DCGANGenerator()) == 3_576_707
    assert parameters(DCGANDiscriminator()) == 2_765_633


@pytest.mark.parametrize("size", [48, 8, 100])
def test_image_size_must_be_a_power_of_two_of_at_least_16(size: int) -> None:
    with pytest.raises(ValueError, match=r"power of two >= 16.*model.generator.image_size"):
        DCGANGenerator(image_size=size)
    with pytest.raises(ValueError, match="power of two"):
        DCGANDiscriminator(image_size=size)


def test_wrong_shapes_fail_at_the_boundary() -> None:
    with pytest.raises(ValueError, match=r"noise \(B, 100\)"):
        DCGANGenerator(image_size=32, base_channels=4)(torch.randn(2, 64))
    with pytest.raises(ValueError, match=r"images \(B, 3, 32, 32\).*image_size"):
        DCGANDiscriminator(image_size=32, base_channels=4)(torch.randn(2, 3, 64, 64))


def fit_one_batch(cfg: DictConfig, *callbacks: L.Callback) -> DCGAN:
    datamodule = hydra.utils.instantiate(cfg.data)
    model: DCGAN = hydra.utils.instantiate(cfg.model)
    bare_trainer(*callbacks, train_batches=1, val_batches=0).fit(model, datamodule=datamodule)
    return model


def test_each_phase_steps_its_network_and_leaves_the_other_alone(dcgan_config) -> None:
    recorder = PhaseRecorder({"g": lambda m: m.generator, "d": lambda m: m.discriminator})
    fit_one_batch(dcgan_config(), recorder)
    assert_g_then_d(recorder.steps)


def test_defaults_are_the_papers(dcgan_config) -> None:
    model: DCGAN = hydra.utils.instantiate(dcgan_config().model)
    assert model.adversarial.mode == "vanilla"
    for optimizer in model.configure_optimizers()[0]:
        assert optimizer.defaults["lr"] == 2e-4 and optimizer.defaults["betas"] == (0.5, 0.999)
    # init N(0, 0.02²): the std of the large layers' weights is close to 0.02.
    weight = model.generator.model[3].weight
    assert abs(weight.std().item() - 0.02) < 0.002 and abs(weight.mean().item()) < 0.002


def test_fixed_noise_grid_repeats_and_is_saved_in_the_checkpoint(dcgan_config, tmp_path) -> None:
    cfg = dcgan_config()
    model = fit_one_batch(cfg).eval()
    batch = {"content": torch.zeros(4, 3, 32, 32), "style": torch.rand(4, 3, 32, 32) * 2 - 1}
    first, second = model.sample_images(batch), model.sample_images(batch)
    # 16 fixed z as 4 columns of 4 examples, then the real style images.
    assert list(first) == ["generated_0", "generated_1", "generated_2", "generated_3", "style"]
    assert all(first[k].shape == (4, 3, 32, 32) for k in first)
    assert all(torch.equal(first[k], second[k]) for k in first)
    # The noise is seeded on its own: a model built under another global seed draws the same.
    torch.manual_seed(1234)
    other: DCGAN = hydra.utils.instantiate(cfg.model)
    assert torch.equal(other.fixed_noise, model.fixed_noise)
    path = tmp_path / "dcgan.ckpt"
    model.trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=True)["state_dict"]["fixed_noise"]
    assert torch.equal(saved, model.fixed_noise) and saved.shape == (16, 100, 1, 1)


def test_translate_generates_a_batch_from_fresh_noise(dcgan_config) -> None:
    model: DCGAN = hydra.utils.instantiate(dcgan_config().model).eval()
    batch = {"content": torch.zeros(3, 3, 32, 32), "style": torch.zeros(3, 3, 32, 32)}
    with torch.no_grad():
        first, second = model.translate(batch), model.translate(batch)
    assert first.shape == (3, 3, 32, 32) and not torch.equal(first, second)


def test_images_of_another_size_than_the_generators_fail_clearly(dcgan_config) -> None:
    cfg = dcgan_config("model.generator.image_size=64")
    with pytest.raises(ConfigError, match=r"generates 64 px images.*model.generator.image_size"):
        fit_one_batch(cfg)


def test_train_with_fd_effnet_then_resume_from_last_checkpoint(dcgan_config, tmp_path) -> None:
    first = tmp_path / "first"
    metrics = train(
        dcgan_config("trainer.limit_train_batches=3", "metrics=fd_effnet", run_dir=first)
    )
    assert {"train/g", "train/d", "val/g_adv", "val/d", "val/fd_effnet"} <= set(metrics)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert train_steps(first) == [0, 1, 2]
    assert (first / "samples" / "final.png").is_file()
    last = first / "checkpoints" / "last.ckpt"
    stopped = torch.load(last, weights_only=True)
    assert stopped["global_step"] == 6

    resumed = tmp_path / "resumed"
    train(
        dcgan_config(
            "trainer.limit_train_batches=3",
            "trainer.max_epochs=2",
            f"ckpt_path={last}",
            run_dir=resumed,
        )
    )
    final = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == 12 and train_steps(resumed) == [3, 4, 5]
    assert torch.equal(final["state_dict"]["fixed_noise"], stopped["state_dict"]["fixed_noise"])


def test_content_and_target_metrics_are_refused_in_one_line(dcgan_config) -> None:
    # The demo's experiment_model file drops them; without the demo recipe they reach DCGAN.
    with pytest.raises(Exception) as error:  # Hydra wraps it; the CLI prints the root
        train(dcgan_config("experiment=none", "data=demo", "metrics=ssim"))
    cause = root_error(error.value)
    assert isinstance(cause, ConfigError) and "\n" not in str(cause)
    assert "generates from noise" in str(cause) and "metrics=fd_effnet" in str(cause)
    generator = DCGANGenerator(image_size=32, base_channels=4)
    with pytest.raises(ConfigError, match="content metrics"):
        DCGAN(
            lambda: generator,
            lambda: DCGANDiscriminator(image_size=32, base_channels=4),
            torch.optim.Adam,
            torch.optim.Adam,
            metrics=MetricSuite(target={"ssim": StructuralSimilarityIndexMeasure(data_range=1.0)}),
        )


def test_spectral_norm_discriminator_trains(dcgan_config) -> None:
    cfg = dcgan_config("model.discriminator.spectral_norm=true", "model.discriminator.norm=none")
    recorder = PhaseRecorder({"g": lambda m: m.generator, "d": lambda m: m.discriminator})
    model = fit_one_batch(cfg, recorder)
    convs = [m for m in model.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    assert all(hasattr(conv.parametrizations, "weight") for conv in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())
    assert not same(recorder.steps[-1]["d"], recorder.steps[0]["d"])


def test_wgangp_refuses_batch_norm_in_d_and_trains_without_it(dcgan_config) -> None:
    with pytest.raises(Exception) as error:  # Hydra wraps errors raised while instantiating
        hydra.utils.instantiate(dcgan_config("model.adversarial.mode=wgangp").model)
    cause = root_error(error.value)
    assert isinstance(cause, ConfigError)
    assert "wgangp" in str(cause) and "model.discriminator.norm=instance or none" in str(cause)
    cfg = dcgan_config("model.adversarial.mode=wgangp", "model.discriminator.norm=instance")
    assert isinstance(fit_one_batch(cfg).adversarial, Adversarial)
