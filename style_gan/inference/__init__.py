"""A trained model's generator alone, for using it: loaded from a checkpoint without its
discriminator, image pools, optimizers or training-only feature networks.

May import: methods, run, nets and the leaves.
"""
