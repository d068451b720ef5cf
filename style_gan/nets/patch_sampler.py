"""CUT's multilayer patch sampler H (Park et al. 2020): random locations of each feature map,
projected by a small MLP per layer onto the unit sphere where PatchNCE compares them."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class PatchSampler(nn.Module):
    """One projection head per layer: Linear(C_l, ``out_channels``), ReLU, Linear(out, out),
    then L2 normalisation (CUT's ``mlp_sample`` with netF_nc=256).

    ``channels`` are the layers' channel counts, known up front (e.g. from
    ``ResnetGenerator.feature_channels``), so the heads exist before the optimizer is built and
    before a checkpoint is loaded (CUT's reference code builds them lazily on a first forward).
    ``num_patches`` locations are drawn per layer, the same for every image of the batch; a
    layer with fewer locations gives all of them.
    """

    def __init__(
        self, channels: Sequence[int], num_patches: int = 256, out_channels: int = 256
    ) -> None:
        super().__init__()
        if num_patches < 1 or out_channels < 1 or not channels:
            raise ValueError(
                f"PatchSampler needs channels, num_patches >= 1 and out_channels >= 1, got "
                f"{list(channels)}, {num_patches}, {out_channels}"
            )
        self.num_patches = num_patches
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Linear(c, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels)
            )
            for c in channels
        )

    def forward(
        self,
        features: Sequence[torch.Tensor],
        patch_ids: Sequence[torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Sample and project each (B, C_l, H_l, W_l) feature map.

        Returns the projected patches, one (B, N_l, out_channels) tensor per layer with unit
        rows, and the flat location ids (N_l,) used. Pass the ids of the query call as
        ``patch_ids`` to sample the keys at the same locations.
        """
        if len(features) != len(self.heads):
            raise ValueError(f"PatchSampler has {len(self.heads)} heads, got {len(features)} maps")
        samples, used_ids = [], []
        for index, (feature, head) in enumerate(zip(features, self.heads, strict=True)):
            flat = feature.flatten(2).transpose(1, 2)  # (B, H·W, C)
            if patch_ids is None:
                ids = torch.randperm(flat.shape[1], device=flat.device)[: self.num_patches]
            else:
                ids = patch_ids[index].to(flat.device)
            samples.append(F.normalize(head(flat[:, ids]), dim=-1))
            used_ids.append(ids)
        return samples, used_ids
