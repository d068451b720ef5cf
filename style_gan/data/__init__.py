"""Datasets, transforms and LightningDataModules for content/style images."""
