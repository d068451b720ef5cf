"""style_gan: GAN-based image style transfer with PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
