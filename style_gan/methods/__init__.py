"""One self-contained LightningModule per style-transfer method."""
