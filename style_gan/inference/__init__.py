"""Using a trained model: its generator loaded alone (no discriminator, pools, optimizers or
training-only feature networks) from a checkpoint or a safetensors export, images of any
size in tiles, image files in and out, the exports (safetensors, TorchScript, ONNX), and the
discriminator a generator is refined against.

May import: methods, run, gan, nets, data and the leaves.
"""
