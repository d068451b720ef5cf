"""Exports of every method's generator: ONNX (ONNX Runtime), TorchScript (torch alone, in a
process where style_gan cannot be imported) and safetensors (loaded without unpickling),
each computing what the PyTorch generator computes, at two sizes, one not square."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from PIL import Image

from style_gan.errors import CheckpointError, ConfigError
from style_gan.export import export
from style_gan.inference.export import (
    CONVENTION,
    export_graph,
    export_onnx,
    export_safetensors,
    export_torchscript,
)
from style_gan.inference.generator import load_generator, load_pretrained
from style_gan.inference.stylizer import Stylizer
from tests.conftest import compose_config

METHODS = ["cyclegan", "cut", "fastcut", "pix2pix", "exemplar", "dcgan"]


def parity_inputs(generator, height: int, width: int) -> dict[str, torch.Tensor]:
    """Three inputs of the generator's kind at ``height`` × ``width`` (rounded to what the
    network takes), the style at yet another size, α at 1, 0.3 and 0."""
    graph = export_graph(generator)
    multiple = graph.size_multiple
    height, width = (max(multiple, side // multiple * multiple) for side in (height, width))
    generator_rng = torch.Generator().manual_seed(height * 1000 + width)
    inputs = {}
    for name, example in graph.inputs.items():
        if name == "alpha":
            inputs[name] = torch.tensor([1.0, 0.3, 0.0])
        elif name == "style":
            inputs[name] = torch.rand(3, 3, 48, 80, generator=generator_rng) * 2 - 1
        elif example.ndim == 4:
            inputs[name] = torch.rand(3, 3, height, width, generator=generator_rng) * 2 - 1
        else:
            inputs[name] = torch.randn(3, example.shape[1], generator=generator_rng)
    return inputs


SIZES = [(64, 64), (96, 160)]


@pytest.mark.parametrize("method", METHODS)
def test_onnx_and_safetensors_compute_what_pytorch_computes(
    method, one_batch_checkpoint, tmp_path
) -> None:
    checkpoint = one_batch_checkpoint(method)
    generator = load_generator(checkpoint)
    onnx_file = export_onnx(generator, tmp_path / "model.onnx")
    folder = export_safetensors(generator, tmp_path / "shared")
    session = onnxruntime.InferenceSession(str(onnx_file))
    reloaded = export_graph(load_pretrained(folder)).module
    reference = export_graph(generator).module
    for height, width in SIZES:
        inputs = parity_inputs(generator, height, width)
        with torch.no_grad():
            expected = reference(*inputs.values())
            assert torch.equal(reloaded(*inputs.values()), expected)
        (output,) = session.run(None, {name: x.numpy() for name, x in inputs.items()})
        assert output.shape == tuple(expected.shape)
        assert np.abs(output - expected.numpy()).max() <= 1e-4, (height, width)
    metadata = {p.key: p.value for p in onnx.load(str(onnx_file)).metadata_props}
    assert metadata["method"] == load_generator(checkpoint).method
    assert metadata["convention"] == CONVENTION
    assert metadata["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert [i.name for i in session.get_inputs()] == metadata["inputs"].split(",")


def test_torchscript_runs_in_a_process_without_style_gan(one_batch_checkpoint, tmp_path) -> None:
    cases = []
    for method in METHODS:
        generator = load_generator(one_batch_checkpoint(method))
        script = export_torchscript(generator, tmp_path / f"{method}.pt")
        with torch.no_grad():
            for index, (height, width) in enumerate(SIZES):
                inputs = parity_inputs(generator, height, width)
                expected = export_graph(generator).module(*inputs.values())
                case = tmp_path / f"{method}_{index}.pt"
                torch.save({"inputs": list(inputs.values()), "expected": expected}, case)
                cases.append((str(script), str(case)))
    runner = textwrap.dedent(
        """
        import json, sys
        sys.modules["style_gan"] = None  # any import of it now fails
        import torch
        worst = 0.0
        for script, case in json.loads(sys.argv[1]):
            data = torch.load(case)
            with torch.no_grad():
                output = torch.jit.load(script)(*data["inputs"])
            worst = max(worst, (output - data["expected"]).abs().max().item())
        print("worst", worst)
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", runner, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert float(result.stdout.split("worst")[1]) <= 1e-5


def test_a_safetensors_folder_stylizes_and_is_what_the_stylize_command_takes(
    one_batch_checkpoint, tmp_path, data_dir
) -> None:
    folder = export_safetensors(load_generator(one_batch_checkpoint("cyclegan")), tmp_path / "m")
    spec = json.loads((folder / "style_gan.json").read_text())
    assert spec["generator"]["_target_"].startswith("style_gan.nets.")
    photo = Image.new("RGB", (50, 30), (200, 100, 50))
    assert Stylizer.from_pretrained(folder, device="cpu")(photo).size == (50, 30)
    photo.save(tmp_path / "photo.png")
    from style_gan.stylize import stylize

    cfg = compose_config(
        "stylize",
        [f"ckpt_path={folder}", f"input={tmp_path / 'photo.png'}", "device=cpu"],
        tmp_path / "out",
        data_dir,
    )
    (written,) = stylize(cfg)
    assert Image.open(written).size == (50, 30)


def test_the_export_command_writes_each_format_and_keeps_what_exists(
    one_batch_checkpoint, tmp_path, data_dir
) -> None:
    checkpoint = one_batch_checkpoint("cyclegan")

    def export_with(*overrides: str) -> Path:
        cfg = compose_config("export", [f"ckpt_path={checkpoint}", *overrides], tmp_path, data_dir)
        return export(cfg)

    for kind, name in (("onnx", "g.onnx"), ("torchscript", "g.pt"), ("safetensors", "g")):
        assert export_with(f"format={kind}", f"output={tmp_path / name}") == tmp_path / name
        assert (tmp_path / name).exists()
    with pytest.raises(ConfigError, match=r"g\.onnx exists; choose another output="):
        export_with("format=onnx", f"output={tmp_path / 'g.onnx'}")
    # The default: a folder in the command's run folder, here the second generator's.
    assert export_with("direction=BA") == tmp_path / "generator_BA"
    assert (tmp_path / "generator_BA" / "model.safetensors").is_file()


def test_onnx_without_the_export_extra_says_which_extra(
    one_batch_checkpoint, tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"needs the export extra: pip install .*\[export\]"):
        export_onnx(load_generator(one_batch_checkpoint("cyclegan")), tmp_path / "m.onnx")


def test_broken_or_hostile_exports_are_one_line(one_batch_checkpoint, tmp_path) -> None:
    folder = export_safetensors(load_generator(one_batch_checkpoint("cyclegan")), tmp_path / "m")
    weights, spec = folder / "model.safetensors", folder / "style_gan.json"
    original = weights.read_bytes()
    weights.write_bytes(original[:100])
    with pytest.raises(CheckpointError, match="cannot be read as safetensors"):
        load_pretrained(folder)
    weights.write_bytes(original)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    hostile = json.loads(spec.read_text())
    hostile["generator"] = {"_target_": "builtins.open", "_args_": [str(victim), "w"]}
    spec.write_text(json.dumps(hostile))
    with pytest.raises(CheckpointError, match=r"names 'builtins\.open'"):
        load_pretrained(folder)
    assert victim.read_text() == "keep me"
    spec.write_text("{not json")
    with pytest.raises(CheckpointError, match="is not a style_gan export description"):
        load_pretrained(folder)
    spec.unlink()
    with pytest.raises(CheckpointError, match=r"style_gan\.json is missing"):
        load_pretrained(folder)
