"""The inference seam: a trained model's generator loaded alone from its checkpoint."""

from __future__ import annotations

import pytest
import torch

from style_gan.errors import CheckpointError
from style_gan.eval import load_trained_model
from style_gan.inference.generator import load_generator
from style_gan.nets.vgg import VGG19_FILE
from style_gan.run.cli import CONFIG_DIR
from tests.conftest import train_one_batch, write_vgg_weights

MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))


def generator_inputs(kind: str, latent_dim: int = 0) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    content = torch.rand(2, 3, 64, 64) * 2 - 1
    if kind == "image_and_style":
        return content, torch.rand(2, 3, 64, 64) * 2 - 1
    if kind == "noise":
        return (torch.randn(2, latent_dim, 1, 1),)
    return (content,)


@pytest.mark.parametrize("model", MODELS)
def test_the_generator_alone_computes_what_the_trained_model_does(
    model: str, one_batch_checkpoint
) -> None:
    ckpt = one_batch_checkpoint(model)
    full = load_trained_model(ckpt)
    directions = ["AB", "BA"] if model == "cyclegan" else ["AB"]
    assert list(full.generators) == directions
    for direction in directions:
        loaded = load_generator(ckpt, direction)
        expected_module = full.inference_generator(direction)
        assert type(loaded.module) is type(expected_module)
        assert loaded.input == type(full).generator_input and loaded.direction == direction
        # Only the generator was built: as many parameters as it has, none trainable.
        count = sum(p.numel() for p in loaded.module.parameters())
        assert count == sum(p.numel() for p in expected_module.parameters())
        assert not any(p.requires_grad for p in loaded.module.parameters())
        inputs = generator_inputs(loaded.input, getattr(loaded.module, "latent_dim", 0))
        with torch.no_grad():
            assert torch.equal(loaded.module(*inputs), expected_module(*inputs))
        # The EMA weights, not the live ones.
        live = getattr(full, full.generators[direction])
        assert any(
            not torch.equal(a, b)
            for a, b in zip(loaded.module.parameters(), live.parameters(), strict=True)
        )


def test_exemplar_trained_with_vgg_losses_loads_without_the_vgg_file(tmp_path, data_dir) -> None:
    weights = tmp_path / VGG19_FILE
    write_vgg_weights(weights)
    ckpt = train_one_batch(
        "exemplar",
        tmp_path / "run",
        data_dir,
        "model.feature_net=vgg19",
        f"model.vgg_weights={weights}",
    )
    weights.unlink()
    with pytest.raises(CheckpointError, match="VGG-19 weights"):
        load_trained_model(ckpt)  # the whole method needs its loss network
    loaded = load_generator(ckpt)
    content, style = generator_inputs("image_and_style")
    assert loaded.module(content, style, 0.5).shape == content.shape


def test_a_checkpoint_naming_foreign_code_is_refused(tmp_path, data_dir) -> None:
    ckpt = train_one_batch("pix2pix", tmp_path / "run", data_dir)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    opener = {"_target_": "builtins.open", "_args_": [str(victim), "w"]}
    checkpoint = torch.load(ckpt, weights_only=True)
    checkpoint["style_gan_config"]["model"]["generator"] = opener
    torch.save(checkpoint, tmp_path / "hostile.ckpt")
    checkpoint["style_gan_config"]["model"] = opener
    torch.save(checkpoint, tmp_path / "hostile_method.ckpt")
    refusal = (
        r"is refused: its stored config key model\.(generator\.)?_target_ names 'builtins\.open'"
    )
    for hostile in ("hostile.ckpt", "hostile_method.ckpt"):
        for load in (load_generator, load_trained_model):  # stylize, style-gan-eval
            with pytest.raises(CheckpointError, match=refusal):
                load(tmp_path / hostile)
    assert victim.read_text() == "precious"
    with pytest.raises(CheckpointError, match="has no direction='BA'; choose one of: AB"):
        load_generator(ckpt, "BA")
