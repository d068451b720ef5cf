"""Generator files of the classic CycleGAN/pix2pix code (and CUT's without antialiasing),
laid out as those files are, imported into a safetensors export that stylises here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from style_gan.errors import CheckpointError
from style_gan.import_weights import import_weights
from style_gan.inference.classic_weights import import_classic
from style_gan.inference.stylizer import Stylizer
from style_gan.nets.generators import ResnetGenerator, UnetGenerator
from tests.conftest import compose_config


def classic_layout(net: torch.nn.Module, dropout: bool, old_instance_norm: bool) -> dict:
    """``net``'s weights under the classic file's key names: ResNet blocks as
    ``model.<i>.conv_block.<j>`` with the second convolution at j=5 (6 with dropout), and,
    like files written by the 2018 code, running statistics of the first instance norm."""
    ours_to_classic = {1: 1, 2: 2, 6: 6, 7: 7} if dropout else {1: 1, 2: 2, 6: 5, 7: 6}
    state = {}
    for key, value in net.state_dict().items():
        match = re.match(r"model\.(\d+)\.body\.(\d+)\.(.+)", key)
        if match:
            block, layer, rest = match.groups()
            key = f"model.{block}.conv_block.{ours_to_classic[int(layer)]}.{rest}"
        state[key] = value.clone()
    if old_instance_norm:
        state["model.2.running_mean"] = torch.zeros(net.model[2].num_features)
        state["model.2.running_var"] = torch.ones(net.model[2].num_features)
    return state


def randomised(net: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for parameter in net.parameters():
        parameter.data.normal_(0, 0.05)
    for name, buffer in net.named_buffers():
        if name.endswith("running_var"):
            buffer.uniform_(0.5, 1.5)
        elif name.endswith("running_mean"):
            buffer.normal_(0, 0.1)
    return net.eval()


@pytest.mark.parametrize(
    ("net", "dropout", "norm"),
    [
        (ResnetGenerator(base_channels=8, n_blocks=9, norm="instance"), False, "instance"),
        (ResnetGenerator(base_channels=8, n_blocks=6, norm="batch", dropout=0.5), True, "batch"),
    ],
    ids=["resnet_9blocks-instance", "resnet_6blocks-batch-dropout"],
)
def test_classic_resnet_files_import_with_their_architecture(net, dropout, norm, tmp_path):
    net = randomised(net)
    state = classic_layout(net, dropout, old_instance_norm=norm == "instance")
    assert ("model.10.conv_block.6.weight" in state) == dropout
    torch.save(state, tmp_path / "latest_net_G_A.pth")
    imported = import_classic(tmp_path / "latest_net_G_A.pth", "cyclegan")
    assert imported.config["n_blocks"] == len(net.model) - 19  # 19 layers around the blocks
    assert (imported.config["norm"], imported.config["dropout"] > 0) == (norm, dropout)
    x = torch.rand(2, 3, 48, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(imported.module(x), net(x))


def test_classic_unet_files_keep_their_key_names(tmp_path) -> None:
    net = randomised(UnetGenerator(base_channels=8, num_downs=7, norm="batch", dropout=0.5))
    assert "model.model.1.model.1.weight" in net.state_dict()  # the classic nesting
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    imported = import_classic(tmp_path / "latest_net_G.pth", "pix2pix")
    assert (imported.config["num_downs"], imported.config["norm"]) == (7, "batch")
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert torch.equal(imported.module(x), net(x))


def test_the_import_command_writes_an_export_that_stylizes(tmp_path, data_dir) -> None:
    net = randomised(ResnetGenerator(base_channels=8, n_blocks=6))
    torch.save(classic_layout(net, False, False), tmp_path / "latest_net_G.pth")
    cfg = compose_config(
        "import",
        [f"input={tmp_path / 'latest_net_G.pth'}", "format=cut", f"output={tmp_path / 'cut'}"],
        tmp_path / "run",
        data_dir,
    )
    folder = import_weights(cfg)
    stylizer = Stylizer.from_pretrained(folder, device="cpu")
    assert stylizer.method == "CUT"
    assert stylizer(Image.new("RGB", (30, 20), (10, 200, 90))).size == (30, 20)


def test_files_that_do_not_fit_are_one_line(tmp_path) -> None:
    net = randomised(ResnetGenerator(base_channels=8, n_blocks=6))
    state = classic_layout(net, False, False)
    torch.save({**state, "model.1.filt": torch.ones(3)}, tmp_path / "antialiased.pth")
    with pytest.raises(CheckpointError, match="antialiased CUT generator"):
        import_classic(tmp_path / "antialiased.pth", "cut")
    torch.save({"encoder.weight": torch.ones(3)}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match=r"neither the classic ResNet .* nor the U-Net"):
        import_classic(tmp_path / "foreign.pth", "cyclegan")
    del state["model.23.bias"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"1 missing \(e\.g\. \['model\.23\.bias'\]\)"):
        import_classic(tmp_path / "missing.pth", "cyclegan")
    (tmp_path / "truncated.pth").write_bytes(b"PK\x03\x04 not a whole file")
    with pytest.raises(CheckpointError, match="cannot be read as a state dict"):
        import_classic(tmp_path / "truncated.pth", "cyclegan")
    with pytest.raises(CheckpointError, match="does not exist"):
        import_classic(Path(tmp_path / "nope.pth"), "cyclegan")
