"""One LightningModule per style-transfer method (its math); base.py holds the shared plumbing.

May import: gan, metrics, nets and the leaves.
"""
