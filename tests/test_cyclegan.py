"""One CycleGAN training step, observed from a callback inside a real Lightning fit."""

from __future__ import annotations

import hydra
import torch

from style_gan.methods.cyclegan import CycleGAN
from tests.conftest import PhaseRecorder, assert_g_then_d, bare_trainer


def test_each_batch_steps_g_then_d_once_and_each_phase_leaves_the_other_alone(train_config) -> None:
    cfg = train_config("trainer.limit_train_batches=1", "trainer.limit_val_batches=0")
    datamodule = hydra.utils.instantiate(cfg.data)
    model: CycleGAN = hydra.utils.instantiate(cfg.model)
    recorder = PhaseRecorder({"g": lambda m: m.g_ab, "d": lambda m: m.d_b})
    trainer = bare_trainer(recorder, train_batches=1, val_batches=0)
    trainer.fit(model, datamodule=datamodule)

    assert_g_then_d(recorder.steps)
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
