"""Image folders, transforms, the LightningDataModules for content/style images, and the demo.

May import: the leaves (errors, ranges, weights).
"""
