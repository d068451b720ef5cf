"""Image-quality and style-transfer metrics on torchmetrics, with offline feature networks."""
