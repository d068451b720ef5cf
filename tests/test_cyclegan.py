"""One CycleGAN training step, observed from a callback inside a real Lightning fit."""

from __future__ import annotations

from typing import Any

import hydra
import lightning as L
import torch

from style_gan.methods.cyclegan import CycleGAN
from tests.conftest import bare_trainer


def snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class PhaseRecorder(L.Callback):
    """Weights of G and D at the start of the batch and at each optimizer step."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def on_train_batch_start(self, trainer, model, batch, batch_idx) -> None:
        self.steps.append({"which": "start", "g": snapshot(model.g_ab), "d": snapshot(model.d_b)})

    def on_before_optimizer_step(self, trainer, model, optimizer) -> None:
        which = "g" if optimizer is trainer.optimizers[0] else "d"
        d_grads = [p.grad for p in model.d_b.parameters()]
        self.steps.append(
            {
                "which": which,
                "g": snapshot(model.g_ab),
                "d": snapshot(model.d_b),
                "d_has_grad": any(g is not None and g.abs().sum() > 0 for g in d_grads),
            }
        )

    def on_train_batch_end(self, trainer, model, outputs, batch, batch_idx) -> None:
        self.steps.append({"which": "end", "g": snapshot(model.g_ab), "d": snapshot(model.d_b)})


def test_each_batch_steps_g_then_d_once_and_each_phase_leaves_the_other_alone(train_config) -> None:
    cfg = train_config("trainer.limit_train_batches=1", "trainer.limit_val_batches=0")
    datamodule = hydra.utils.instantiate(cfg.data)
    model: CycleGAN = hydra.utils.instantiate(cfg.model)
    recorder = PhaseRecorder()
    trainer = bare_trainer(recorder, train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=datamodule)

    start, g_step, d_step, end = recorder.steps
    assert [s["which"] for s in recorder.steps] == ["start", "g", "d", "end"]
    # G phase: D untouched and given no gradient; then G's step changes G.
    assert same(g_step["d"], start["d"]) and not g_step["d_has_grad"]
    assert same(d_step["d"], start["d"]) and not same(d_step["g"], start["g"])
    # D phase: G untouched; D's step changes D.
    assert same(end["g"], d_step["g"]) and not same(end["d"], d_step["d"])
    # Lightning counts both optimizer steps (Lightning #17958).
    assert trainer.global_step == 2


def test_forward_translates_content_into_the_style_domain(train_config) -> None:
    model = hydra.utils.instantiate(train_config().model)
    content = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model(content).shape == content.shape
    rows = model.sample_images({"content": content, "style": content})
    assert list(rows) == ["content", "translated", "reconstructed", "style"]


def test_ema_generator_differs_after_a_step_and_is_what_forward_and_checkpoint_use(
    train_config, tmp_path
) -> None:
    cfg = train_config("model.ema_decay=0.5")
    datamodule = hydra.utils.instantiate(cfg.data)
    model: CycleGAN = hydra.utils.instantiate(cfg.model)
    trainer = bare_trainer(train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=datamodule)
    live, average = model.g_ab.state_dict(), model.g_ab_ema.module.state_dict()
    assert any(not torch.equal(live[k], average[k]) for k in live)
    content = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(content), model.g_ab_ema.module(content))
        assert not torch.equal(model(content), model.g_ab(content))
    path = tmp_path / "ema.ckpt"
    trainer.save_checkpoint(path)
    restored = hydra.utils.instantiate(cfg.model)
    restored.load_state_dict(torch.load(path, weights_only=False)["state_dict"])
    with torch.no_grad():
        assert torch.equal(restored.eval()(content), model.eval()(content))
