"""trainer.precision=auto: bf16-mixed where the hardware has bf16 units, else 32-true."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from style_gan import precision as precision_module
from style_gan.precision import auto_precision, cpu_has_native_bf16, resolve_precision
from style_gan.train import train


def fake_gpu(monkeypatch: pytest.MonkeyPatch, capability: tuple[int, int]) -> None:
    """A CUDA device of ``capability`` for the queries auto_precision makes (none here)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "a GPU")


@pytest.mark.parametrize(
    ("capability", "expected"),
    [((8, 0), "bf16-mixed"), ((9, 0), "bf16-mixed"), ((7, 5), "32-true")],
)
def test_gpus_from_ampere_on_get_bf16(monkeypatch, capability, expected) -> None:
    fake_gpu(monkeypatch, capability)
    for accelerator in ("auto", "gpu", "cuda"):
        chosen, why = auto_precision(accelerator)
        assert chosen == expected and f"capability {capability[0]}.{capability[1]}" in why


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16-mixed"), (False, "32-true")])
def test_cpus_get_bf16_only_with_native_units(monkeypatch, native, expected) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: native)
    assert auto_precision("auto")[0] == expected
    assert auto_precision("cpu")[0] == expected


def test_other_accelerators_and_explicit_precisions() -> None:
    assert auto_precision("mps")[0] == "32-true"
    assert resolve_precision("16-mixed", "auto") == ("16-mixed", None)
    assert resolve_precision(32, "cpu") == (32, None)


def test_a_run_logs_and_stores_what_auto_chose_here(train_config, tmp_path: Path, caplog) -> None:
    run = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="style_gan.train"):
        train(train_config("trainer.accelerator=cpu", "trainer.precision=auto", run_dir=run))
    expected = "bf16-mixed" if cpu_has_native_bf16() else "32-true"
    assert f"trainer.precision=auto: {expected}" in caplog.text
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["style_gan_config"]["trainer"]["precision"] == expected
