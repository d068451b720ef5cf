"""GAN maths the methods share: adversarial objectives and regularisers, content/cycle/NCE and
perceptual losses, DiffAugment, the image pool and learning-rate schedules.

May import: nets and the leaves.
"""
