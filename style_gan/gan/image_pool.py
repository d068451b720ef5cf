"""History buffer of generated images for the discriminator (Shrivastava et al. 2017)."""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """Keeps up to ``size`` past fakes; D then sees a mix of current and older generator output,
    which damps G/D oscillation. ``size`` 0 = disabled (every query returns its input).

    For each image of a query: while the pool is filling, it is stored and returned; after
    that, with probability 1/2 it is returned as is, otherwise it replaces a random stored
    image, which is returned in its place.
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"pool_size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch like ``images`` (detached), drawn from the batch and the history."""
        images = images.detach()
        if self.size == 0:
            return images
        returned = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(self.size, ()).item())
                # .to(images): a resumed pool comes back on the CPU, maybe in another dtype.
                returned.append(self.images[slot].to(images))
                self.images[slot] = image.clone()
            else:
                returned.append(image)
        return torch.stack(returned)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images).cpu() if self.images else None
        return {"size": self.size, "images": stored}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        stored = state["images"]
        self.images = [] if stored is None else list(stored.unbind(0))
