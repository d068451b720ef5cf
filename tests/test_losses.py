"""Losses, the image pool and the learning-rate schedule: known values on tiny inputs."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from style_gan.errors import ConfigError
from style_gan.gan.image_pool import ImagePool
from style_gan.gan.losses import (
    AdversarialLoss,
    cycle_loss,
    gradient_penalty,
    identity_loss,
    r1_penalty,
)
from style_gan.gan.schedules import LinearDecay

REAL, FAKE = torch.tensor([2.0]), torch.tensor([-1.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(
    ("mode", "d_loss", "g_loss"),
    [
        # -log σ(2) - log(1 - σ(-1)) ; -log σ(-1)
        ("vanilla", softplus(-2.0) + softplus(-1.0), softplus(1.0)),
        # (2 - 1)² + (-1)² ; (-1 - 1)²
        ("lsgan", 2.0, 4.0),
        # max(0, 1 - 2) + max(0, 1 - 1) ; -(-1)
        ("hinge", 0.0, 1.0),
        # -1 - 2 ; -(-1)
        ("wgangp", -3.0, 1.0),
    ],
)
def test_adversarial_losses_have_their_known_values(
    mode: str, d_loss: float, g_loss: float
) -> None:
    loss = AdversarialLoss(mode)
    assert loss.discriminator_loss(REAL, FAKE).item() == pytest.approx(d_loss, abs=1e-6)
    assert loss.generator_loss(FAKE).item() == pytest.approx(g_loss, abs=1e-6)


def test_vanilla_is_binary_cross_entropy_on_logits() -> None:
    real, fake = torch.randn(2, 1, 5, 5), torch.randn(2, 1, 5, 5)
    bce = F.binary_cross_entropy_with_logits
    expected = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    assert torch.allclose(AdversarialLoss("vanilla").discriminator_loss(real, fake), expected)


def test_hinge_margin_counts_only_inside_the_margin() -> None:
    loss = AdversarialLoss("hinge")
    assert loss.discriminator_loss(torch.tensor([0.5]), torch.tensor([0.5])).item() == 2.0


def test_unknown_gan_mode_names_the_allowed_values() -> None:
    allowed = r"model.adversarial.mode='wgan' .* vanilla, lsgan, hinge, wgangp"
    with pytest.raises(ConfigError, match=allowed):
        AdversarialLoss("wgan")


def test_cycle_and_identity_losses_are_mean_absolute_error() -> None:
    a, b = torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5)
    assert cycle_loss(a, b).item() == 0.5
    assert identity_loss(b, b).item() == 0.0


def test_image_pool_fills_then_mixes_history_and_round_trips() -> None:
    assert torch.equal(ImagePool(0).query(torch.ones(2, 3)), torch.ones(2, 3))
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1).expand(3, 2)
    assert torch.equal(pool.query(first), first)  # filling: returned as given
    torch.manual_seed(0)
    mixed = pool.query(torch.full((50, 2), 9.0))
    assert {float(v) for v in mixed[:, 0]} <= {0.0, 1.0, 2.0, 9.0}
    assert (mixed[:, 0] != 9).any() and (mixed[:, 0] == 9).any()
    restored = ImagePool(3)
    restored.load_state_dict(pool.state_dict())
    assert all(torch.equal(x, y) for x, y in zip(restored.images, pool.images, strict=True))


def test_linear_decay_matches_cyclegan_schedule() -> None:
    schedule = LinearDecay(constant_epochs=100, decay_epochs=100)
    assert schedule(0) == 1.0 and schedule(99) == 1.0
    assert schedule(100) == pytest.approx(1 - 1 / 101)
    assert schedule(199) == pytest.approx(1 / 101)
    assert LinearDecay(5, 0)(50) == 1.0
    # Past the schedule (a longer run): rate 0, never negative.
    assert schedule(200) == 0.0 and schedule(500) == 0.0


def test_image_pool_returns_history_in_the_query_dtype() -> None:
    pool = ImagePool(2)
    pool.load_state_dict({"size": 2, "images": torch.zeros(2, 3)})
    torch.manual_seed(0)
    mixed = pool.query(torch.ones(20, 3, dtype=torch.bfloat16))
    assert mixed.dtype == torch.bfloat16 and (mixed == 0).any()


def test_gradient_penalty_matches_a_direct_autograd_computation() -> None:
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 1))
    real, fake = torch.randn(3, 3, 2, 2), torch.randn(3, 3, 2, 2)
    torch.manual_seed(1)
    penalty = gradient_penalty(critic, real, fake)
    torch.manual_seed(1)
    epsilon = torch.rand(3, 1, 1, 1)
    expected = 0.0
    for i in range(3):
        x = (epsilon[i] * real[i] + (1 - epsilon[i]) * fake[i]).unsqueeze(0).requires_grad_()
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        expected += (grad.norm() - 1) ** 2 / 3
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-5)
    penalty.backward()
    assert critic[1].weight.grad is not None  # it trains D (create_graph)


def test_r1_penalty_matches_a_direct_autograd_computation() -> None:
    # D(x) = Σ w·x² has ∇D = 2w·x, so R1 = mean over samples of Σ (2w·x)².
    weight = torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1)

    def discriminator(x: torch.Tensor) -> torch.Tensor:
        return (weight * x.pow(2)).flatten(1).sum(1)

    real = torch.randn(4, 3, 2, 2)
    expected = (2 * weight * real).pow(2).flatten(1).sum(1).mean()
    assert r1_penalty(discriminator, real).item() == pytest.approx(expected.item(), rel=1e-6)
