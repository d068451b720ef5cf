"""Evaluation metrics on torchmetrics (offline EfficientNet distances, semantic preservation,
Inception FID/KID, LPIPS) and the suite that routes each to its reference images.

May import: nets and the leaves.
"""
