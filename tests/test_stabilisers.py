"""The shared stabilisers: DiffAugment, the Adversarial node's penalties, EMA, spectral norm."""

import math
from pathlib import Path

import hydra
import lightning as L
import pytest
import torch
from lightning.pytorch.plugins.precision import MixedPrecision
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.adversarial import Adversarial
from style_gan.gan.augment import DiffAugment, color, cutout, translation
from style_gan.nets.discriminators import PatchDiscriminator
from style_gan.nets.ema import ModelEMA
from style_gan.nets.init import init_weights
from style_gan.run.cli import CONFIG_DIR
from style_gan.train import train
from tests.conftest import ONE_BATCH, compose_config


def test_diff_augment_is_differentiable_and_keeps_shapes() -> None:
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    y = DiffAugment("color,translation,cutout")(x)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_shifts_whole_pixels_and_fills_zeros() -> None:
    torch.manual_seed(0)
    x = torch.rand(8, 3, 16, 16) + 1  # no zeros of its own
    y = translation(x)
    for original, shifted in zip(x, y, strict=True):
        kept = shifted[shifted != 0]
        # Every kept value is an original pixel value; at most 2 px (1/8 of 16) per side lost.
        assert torch.isin(kept, original).all()
        assert kept.numel() >= 3 * 14 * 14


def test_cutout_zeroes_at_most_a_quarter_of_the_image() -> None:
    y = cutout(torch.ones(16, 3, 16, 16))
    zero_fraction = (y == 0).float().mean(dim=(1, 2, 3))
    assert (zero_fraction > 0).all() and (zero_fraction <= 0.25).all()


def test_color_changes_a_pair_of_images_alike() -> None:
    torch.manual_seed(0)
    image = torch.rand(2, 3, 8, 8)
    pair = torch.cat([image, image], dim=1)  # a conditional D's (x, y) with x == y
    augmented = color(pair)
    assert torch.allclose(augmented[:, :3], augmented[:, 3:])


def test_unknown_diff_augment_op_is_named() -> None:
    allowed = r"unknown op.*blur; use a subset of \[color, translation, cutout\]"
    with pytest.raises(ConfigError, match=allowed):
        DiffAugment("color,blur")
    with pytest.raises(ConfigError, match=allowed):
        DiffAugment(["color", "blur"])


def test_r1_is_applied_lazily_and_scaled_by_its_interval() -> None:
    torch.manual_seed(0)
    d = PatchDiscriminator(base_channels=4, n_layers=1)
    real, fake = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    adversarial = Adversarial("lsgan", r1_gamma=2.0, r1_interval=4)
    plain = Adversarial("lsgan")
    loss_on, terms_on = adversarial.discriminator_loss(d, real, fake, batches_done=8)
    loss_off, terms_off = adversarial.discriminator_loss(d, real, fake, batches_done=9)
    base, _ = plain.discriminator_loss(d, real, fake, batches_done=8)
    assert set(terms_on) == {"r1"} and not terms_off
    assert loss_off.item() == pytest.approx(base.item())
    # γ/2 · interval · R1 = 2/2 · 4 · R1
    assert (loss_on - base).item() == pytest.approx(4 * terms_on["r1"].item(), rel=1e-5)


def test_wgangp_adds_the_gradient_penalty_with_its_weight() -> None:
    d = PatchDiscriminator(base_channels=4, n_layers=1, norm="none")
    real, fake = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    loss, terms = Adversarial("wgangp", gp_weight=10.0).discriminator_loss(d, real, fake, 0)
    wasserstein = d(fake).mean() - d(real).mean()
    assert (loss - wasserstein).item() == pytest.approx(10 * terms["gp"].item(), rel=1e-4)


def test_ema_tracks_the_live_weights_with_its_decay() -> None:
    live = nn.Linear(2, 2)
    ema = ModelEMA(live, decay=0.9)
    before = ema.module.weight.clone()
    with torch.no_grad():
        live.weight.add_(1.0)
    ema.update(live)
    assert torch.allclose(ema.module.weight, 0.9 * before + 0.1 * live.weight)
    assert not any(p.requires_grad for p in ema.parameters())
    assert not ema.train().module.training


def test_spectral_norm_keeps_init_and_bounds_each_layer() -> None:
    torch.manual_seed(0)
    d = init_weights(PatchDiscriminator(base_channels=4, n_layers=2, spectral_norm=True))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    # init_weights reached the raw weights: N(0, 0.02²), not PyTorch's default init.
    raw = convs[1].parametrizations.weight.original
    assert raw.std().item() == pytest.approx(0.02, rel=0.2)
    for _ in range(20):  # power iterations run in training forwards
        d(torch.randn(1, 3, 32, 32))
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


ALL_SWITCHES = [
    "model.adversarial.mode=wgangp",
    "model.adversarial.r1_gamma=1.0",
    "model.adversarial.r1_interval=1",
    "model.adversarial.diff_augment=[color,translation,cutout]",
    "model.discriminator.spectral_norm=true",
    "model.discriminator.norm=none",
    "model.optimizer_d.lr=0.0004",
    "model.optimizer_g.lr=0.0001",
    "model.ema_decay=0.9",
]


@pytest.mark.parametrize("model", sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml")))
def test_every_method_trains_with_every_stabiliser_switched_on(
    model: str, tmp_path: Path, data_dir: Path
) -> None:
    run = tmp_path / "run"
    cfg = compose_config(
        "train",
        [
            *ONE_BATCH,
            f"model={model}",
            *ALL_SWITCHES,
        ],
        run,
        data_dir,
    )
    metrics = train(cfg)
    assert {"train/d_gp", "train/d_r1"} <= set(metrics)
    assert all(math.isfinite(metrics[k]) for k in ("train/g", "train/d", "train/d_gp"))
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert any("ema" in key for key in state), "the EMA generator is in the checkpoint"
    assert any(key.endswith("parametrizations.weight.original") for key in state)


def clipped_norms(train_config, monkeypatch, precision_plugin) -> list[float]:
    """The gradient norms clipping saw (before clipping) in one CycleGAN batch."""
    # Instance norm keeps the fp16 activations in range at a loss scale of 256; without it
    # (the demo's generator) the first step overflows and the scaler skips it, as it should.
    cfg = train_config("model.gradient_clip_norm=0.5", "model.generator.norm=instance")
    norms: list[float] = []
    clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, max_norm, *args, **kwargs):
        norm = clip(parameters, max_norm, *args, **kwargs)
        norms.append(float(norm))
        return norm

    torch.manual_seed(0)
    model = hydra.utils.instantiate(cfg.model)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[precision_plugin] if precision_plugin else None,
    )
    torch.manual_seed(0)
    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
        trainer.fit(model, datamodule=hydra.utils.instantiate(cfg.data))
    return norms


def test_16_mixed_clips_the_unscaled_gradients(train_config, monkeypatch) -> None:
    # 16-mixed with its gradient scaler, here on the CPU (Lightning's precision flag allows it
    # only on a GPU): clipping must see the gradients divided by the loss scale again.
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    mixed = clipped_norms(train_config, monkeypatch, MixedPrecision("16-mixed", "cpu", scaler))
    full = clipped_norms(train_config, monkeypatch, None)
    assert len(mixed) == len(full) == 2  # G's step, then D's
    for half_precision, single in zip(mixed, full, strict=True):
        assert math.isfinite(half_precision) and 0.5 < half_precision / single < 2
