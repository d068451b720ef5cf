"""Using a trained model: its generator loaded alone (no discriminator, pools, optimizers or
training-only feature networks), images of any size in tiles, image files in and out.

May import: methods, run, nets, data and the leaves.
"""
