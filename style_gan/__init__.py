"""style_gan: GAN-based image style transfer with PyTorch Lightning and Hydra.

Imports run downward only (tests/test_layout.py checks it):

    train.py eval.py stylize.py       entry points: a pure function of cfg + a thin @hydra.main
    export.py import_weights.py
    commands.py                       the console scripts: --help before torch is imported
    studio/                           the interactive page: sessions, feedback, refine (its
                                      launch.py is the style-gan-studio entry point)
    inference/                        using a trained model: its generator alone, tiling, files,
                                      exports (safetensors, TorchScript, ONNX)
    methods/                          one LightningModule per method
    gan/  metrics/                    GAN maths; evaluation metrics
    nets/  data/                      networks; image folders and data modules
    sweeps/                           multiruns: the sweep summary
    run/                              run plumbing (callbacks, checkpoints, CLI, loggers, the
                                      run record and the sweep objective)
    errors.py files.py ranges.py      small shared leaves
    weights.py precision.py cpus.py
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `from style_gan import Stylizer` without importing torch for every `import style_gan`.
    if name == "Stylizer":
        from style_gan.inference.stylizer import Stylizer

        return Stylizer
    raise AttributeError(f"module 'style_gan' has no attribute {name!r}")
