"""GAN losses. Each adversarial objective is one object with a generator and a discriminator
side; discriminators output raw logits, so every mode works on the same networks. The
discriminator regularisers (WGAN-GP's gradient penalty, R1) are functions of D and images."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import check_choice

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


class AdversarialLoss(nn.Module):
    """Adversarial loss on discriminator logits x, averaged over batch and patches.

    ========  =============================================  ======================
    mode      discriminator (real x_r, fake x_f)             generator (fake x_f)
    ========  =============================================  ======================
    vanilla   -log σ(x_r) - log(1 - σ(x_f))                  -log σ(x_f)
    lsgan     (x_r - 1)² + x_f²                              (x_f - 1)²
    hinge     max(0, 1 - x_r) + max(0, 1 + x_f)              -x_f
    wgangp    x_f - x_r  (+ λ·GP, see gradient_penalty)      -x_f
    ========  =============================================  ======================

    ``vanilla`` is the BCE objective E[log D(x)] + E[log(1 - D(G(z)))] of Goodfellow et al.,
    with the non-saturating generator loss; ``lsgan`` is Mao et al. 2017 (CycleGAN's default);
    ``wgangp`` is the Wasserstein critic of Gulrajani et al. 2017, whose gradient penalty the
    caller adds (it needs D and the images, not only logits).
    """

    def __init__(self, gan_mode: str = "lsgan") -> None:
        super().__init__()
        self.gan_mode = check_choice("model.adversarial.mode", gan_mode, GAN_MODES)

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        """Loss for D given its logits on real and (detached) fake images."""
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        if self.gan_mode == "vanilla":
            # softplus(-x) = -log σ(x); softplus(x) = -log(1 - σ(x)); stable for large |x|.
            return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        if self.gan_mode == "lsgan":
            return (real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean()
        if self.gan_mode == "hinge":
            return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
        return fake_logits.mean() - real_logits.mean()

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss for G given D's logits on its fakes (gradients flow into G through them)."""
        fake_logits = fake_logits.float()
        if self.gan_mode == "vanilla":
            return F.softplus(-fake_logits).mean()  # -log σ(x)
        if self.gan_mode == "lsgan":
            return (fake_logits - 1).pow(2).mean()
        return -fake_logits.mean()


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(‖∇D(x̂)‖₂ - 1)²], x̂ = ε·real + (1 - ε)·fake with
    ε ~ U[0, 1] per sample. ``fake`` is detached here; the penalty trains D only."""
    epsilon = torch.rand(real.shape[0], *[1] * (real.ndim - 1), device=real.device)
    mixed = (epsilon * real.detach() + (1 - epsilon) * fake.detach()).requires_grad_(True)
    (gradients,) = torch.autograd.grad(discriminator(mixed).float().sum(), mixed, create_graph=True)
    return (gradients.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor
) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[‖∇ₓD(x)‖₂²] on real images only; the caller scales it
    by γ/2. Gradients w.r.t. ``real`` as given, so a differentiable augmentation inside
    ``discriminator`` is part of D here, as in StyleGAN2-ADA."""
    real = real.detach().requires_grad_(True)
    (gradients,) = torch.autograd.grad(discriminator(real).float().sum(), real, create_graph=True)
    return gradients.flatten(1).pow(2).sum(1).mean()


def cycle_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Cycle consistency ‖F(G(x)) - x‖₁ (mean absolute error), Zhu et al. 2017."""
    return F.l1_loss(reconstructed, original)


def identity_loss(mapped: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Identity ‖G(y) - y‖₁ for y already in G's target domain; keeps colours (Taigman et al.)."""
    return F.l1_loss(mapped, original)


class PatchNCELoss(nn.Module):
    """PatchNCE (Park et al. 2020, CUT): each output patch should match the input patch at the
    same location rather than the other sampled locations of the same image.

    For a query q (an output-image patch feature), its positive k⁺ (the input-image feature at
    the same location) and the negatives k⁻ (the input features at the other N - 1 sampled
    locations of that image), all L2-normalised, with temperature τ:

        ℓ = -log[exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ_{k⁻} exp(q·k⁻/τ))]

    i.e. an (N)-way cross-entropy over the logits q·k/τ with the positive at index 0. Negatives
    come from the same image only (CUT's default, nce_includes_all_negatives_from_minibatch
    False). The keys are detached: gradients reach G and the projection head through q only.
    ``forward`` returns ℓ averaged over all patches of all images.
    """

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"PatchNCE temperature must be > 0, got {temperature}; CUT uses 0.07")
        self.temperature = temperature

    def forward(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """``query``, ``key``: (B, N, C) features of N locations per image, row i of ``key``
        at the same location as row i of ``query``."""
        if query.ndim != 3 or query.shape != key.shape:
            raise ValueError(
                f"PatchNCELoss needs query and key of the same (B, N, C) shape, got "
                f"{tuple(query.shape)} and {tuple(key.shape)}"
            )
        query, key = query.float(), key.detach().float()
        # (B, N, N): similarity of every query to every key of its own image.
        logits = torch.bmm(query, key.transpose(1, 2)) / self.temperature
        positive = logits.diagonal(dim1=1, dim2=2).unsqueeze(-1)  # (B, N, 1)
        # The diagonal is the positive; as a negative it is excluded (exp(-inf) = 0).
        eye = torch.eye(logits.shape[1], dtype=torch.bool, device=logits.device)
        negatives = logits.masked_fill(eye, float("-inf"))
        logits = torch.cat([positive, negatives], dim=-1).flatten(0, 1)  # (B·N, 1 + N)
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, target)
