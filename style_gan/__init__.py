"""style_gan: GAN-based image style transfer with PyTorch Lightning and Hydra.

Imports run downward only (tests/test_layout.py checks it):

    train.py eval.py                  entry points: a pure function of cfg + a thin @hydra.main
    inference/                        a trained generator alone, for using a model
    methods/                          one LightningModule per method
    gan/  metrics/                    GAN maths; evaluation metrics
    nets/  data/                      networks; image folders and data modules
    run/                              run plumbing (callbacks, checkpoints, CLI, loggers)
    errors.py ranges.py weights.py    small shared leaves
"""

__version__ = "0.1.0"
