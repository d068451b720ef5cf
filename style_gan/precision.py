"""Which floating-point precision this machine runs fast: ``trainer.precision=auto``."""

from __future__ import annotations

import torch

AUTO = "auto"


def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions natively (AVX512-BF16 or AMX through oneDNN).
    torch has no public query for it; its oneDNN backend answers this private one."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def auto_precision(accelerator: str) -> tuple[str, str]:
    """The precision ``auto`` means for ``accelerator`` (Lightning's names; ``auto`` = CUDA
    when there is one, else the CPU, as Lightning picks), and why.

    bf16-mixed where the hardware has bf16 arithmetic units: CUDA GPUs from Ampere on
    (compute capability 8.0) and CPUs with AVX-512 BF16 or AMX; else 32-true. bf16 keeps
    fp32's exponent range, so a GAN needs no loss scaling, unlike 16-mixed; emulated bf16 is
    slower than fp32, which is why the hardware decides.
    """
    if accelerator == "auto":
        accelerator = "cuda" if torch.cuda.is_available() else "cpu"
    if accelerator in ("gpu", "cuda") and torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        name = torch.cuda.get_device_name()
        if major >= 8:
            return "bf16-mixed", f"{name}, compute capability {major}.{minor}, has bf16 units"
        return "32-true", f"{name}, compute capability {major}.{minor}, has no bf16 units"
    if accelerator == "cpu":
        if cpu_has_native_bf16():
            return "bf16-mixed", "this CPU has native bf16: AVX-512 BF16 or AMX"
        return "32-true", "this CPU has no native bf16: no AVX-512 BF16 or AMX"
    return "32-true", f"accelerator {accelerator}: bf16 speed not known"


def resolve_precision(precision: str | int, accelerator: str) -> tuple[str | int, str | None]:
    """``precision`` unchanged with None, or for ``auto`` what it means here and why."""
    if precision != AUTO:
        return precision, None
    return auto_precision(accelerator)
