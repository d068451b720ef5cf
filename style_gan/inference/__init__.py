"""Using a trained model: its generator loaded alone (no discriminator, pools, optimizers or
training-only feature networks) from a checkpoint or a safetensors export, images of any
size in tiles, image files in and out, and the exports (safetensors, TorchScript, ONNX).

May import: methods, run, nets, data and the leaves.
"""
