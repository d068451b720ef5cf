"""Weight initialisation schemes for conv/linear layers and BatchNorm."""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize

from style_gan.errors import check_choice

INIT_TYPES = ("normal", "xavier", "kaiming", "orthogonal")


def init_weights(net: nn.Module, init_type: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise ``net`` in place and return it.

    Conv/linear weights: ``normal`` N(0, gain²), ``xavier`` Glorot-normal with ``gain``,
    ``kaiming`` He-normal (fan_in), ``orthogonal`` with ``gain``; biases 0. BatchNorm scale
    N(1, gain²), shift 0.
    """
    check_choice("init_type", init_type, INIT_TYPES)

    def init_module(module: nn.Module) -> None:
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            # A spectral-normalised layer's weight is computed; initialise what it is computed
            # from.
            weight = (
                module.parametrizations.weight.original
                if parametrize.is_parametrized(module, "weight")
                else module.weight
            )
            if init_type == "normal":
                nn.init.normal_(weight, 0.0, gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(weight, gain=gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(weight, gain=gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)

    return net.apply(init_module)
