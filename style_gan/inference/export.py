"""A trained generator in the formats it is served and shared in, with nothing of style_gan
needed to run it: safetensors + JSON (weights that load without unpickling anything, and the
architecture that takes them), TorchScript (a file torch alone runs) and ONNX (ONNX Runtime
and the engines that read it).

Every format has the same convention: RGB, NCHW, float32 in [-1, 1]. Inputs by the method's
``input``: ``image`` (B, 3, H, W); ``image_and_style`` content (B, 3, H, W), style
(B, 3, H', W') and alpha (B,) (1 = the exemplar's style, 0 = the content's own); ``noise``
z (B, latent_dim). H and W must be multiples of the generator's ``size_multiple``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from style_gan.errors import ConfigError
from style_gan.files import write_atomically
from style_gan.inference.generator import PRETRAINED_SPEC, PRETRAINED_WEIGHTS, TrainedGenerator
from style_gan.inference.provenance import file_sha256

FORMATS = ("safetensors", "torchscript", "onnx")
CONVENTION = "RGB, NCHW, float32 in [-1, 1]"
ONNX_OPSET = 18
EXPORT_EXTRA = 'pip install -c constraints.txt -e ".[export]"'
# The exporter's passes log each step at INFO (dozens of lines per model).
ONNX_LOGGERS = ("onnx_ir", "onnxscript", "torch.onnx")


class ImageGraph(nn.Module):
    """G(image): CycleGAN, CUT/FastCUT and pix2pix generators."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.generator(image)


class ExemplarGraph(nn.Module):
    """G(content, style; α) with α a per-image tensor, so one graph serves every α:
    Dec(E_c(content), α · E_s(style) + (1 - α) · E_s(content))."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(
        self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor
    ) -> torch.Tensor:
        weight = alpha[:, None]
        code = weight * self.generator.encode_style(style) + (1 - weight) * (
            self.generator.encode_style(content)
        )
        return self.generator.decode(self.generator.encode_content(content), code)


class NoiseGraph(nn.Module):
    """G(z) with z as (B, latent_dim): DCGAN."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z[:, :, None, None])


@dataclass(frozen=True)
class ExportGraph:
    """What an exporter traces: the module, example inputs by name, and the input dimensions
    that stay free (batch; height and width as multiples of ``size_multiple``)."""

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    size_multiple: int

    def dynamic_shapes(self) -> dict[str, dict[int, Any]]:
        batch = torch.export.Dim("batch", min=1)
        shapes: dict[str, dict[int, Any]] = {}
        for name, example in self.inputs.items():
            if example.ndim == 4:
                height = torch.export.Dim(f"{name}_height", min=1)
                width = torch.export.Dim(f"{name}_width", min=1)
                multiple = self.size_multiple if name != "style" else 1
                shapes[name] = {0: batch, 2: multiple * height, 3: multiple * width}
            else:
                shapes[name] = {0: batch}
        return shapes


def export_graph(generator: TrainedGenerator) -> ExportGraph:
    """The generator as a module of plain tensor inputs, with example inputs of 2 images."""
    module = generator.module.eval().cpu()
    multiple = int(getattr(module, "size_multiple", 1))
    # At least two multiples a side: an exporter fixes a dimension it first sees as 1.
    side = multiple * max(2, 64 // multiple)
    image = torch.rand(2, 3, side, side) * 2 - 1
    if generator.input == "image":
        return ExportGraph(ImageGraph(module).eval(), {"image": image}, multiple)
    if generator.input == "image_and_style":
        style = torch.rand(2, 3, 64, 64) * 2 - 1
        inputs = {"content": image, "style": style, "alpha": torch.tensor([1.0, 0.5])}
        return ExportGraph(ExemplarGraph(module).eval(), inputs, multiple)
    z = torch.randn(2, module.latent_dim)
    return ExportGraph(NoiseGraph(module).eval(), {"z": z}, 1)


def export_metadata(generator: TrainedGenerator, graph: ExportGraph) -> dict[str, str]:
    """What every export says about itself (ONNX metadata_props, the JSON, TorchScript's
    extra file): strings only, as ONNX wants them."""
    return {
        "style_gan_export": "1",
        "method": generator.method,
        "input": generator.input,
        "inputs": ",".join(graph.inputs),
        "direction": generator.direction,
        "convention": CONVENTION,
        "size_multiple": str(graph.size_multiple),
        "batches": str(generator.batches),
        "checkpoint": generator.checkpoint.name,
        "checkpoint_sha256": file_sha256(generator.checkpoint),
        "onnx_opset": str(ONNX_OPSET),
    }


def export_safetensors(generator: TrainedGenerator, folder: Path) -> Path:
    """``folder/model.safetensors`` (the weights) and ``folder/style_gan.json`` (the
    generator's config and the metadata), what ``Stylizer.from_pretrained`` reads."""
    graph = export_graph(generator)
    metadata = export_metadata(generator, graph)
    spec = {**metadata, "generator": generator.config}
    weights = {key: value.contiguous() for key, value in generator.module.state_dict().items()}
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(
        folder / PRETRAINED_WEIGHTS,
        lambda file: file.write(safetensors_bytes(weights, metadata=metadata)),
    )
    text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
    write_atomically(folder / PRETRAINED_SPEC, lambda file: file.write(text.encode()))
    return folder


def export_torchscript(generator: TrainedGenerator, path: Path) -> Path:
    """A traced TorchScript file: ``torch.jit.load(path)(*inputs)`` with torch alone."""
    graph = export_graph(generator)
    with torch.no_grad(), warnings.catch_warnings():
        # The networks' input-size checks read shapes as Python values, which the tracer
        # warns of; they hold for every size the checks allow (the parity tests run two).
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(graph.module, tuple(graph.inputs.values()), check_trace=False)
    extra = {"style_gan.json": json.dumps(export_metadata(generator, graph), sort_keys=True)}

    def write(file: Any) -> None:
        torch.jit.save(traced, file, _extra_files=extra)

    write_atomically(path, write)
    return path


def export_onnx(generator: TrainedGenerator, path: Path) -> Path:
    """An ONNX file (opset ONNX_OPSET) with a dynamic batch, height and width, and the
    metadata in its ``metadata_props``."""
    try:
        import onnx
    except ImportError as error:
        raise ConfigError(f"format=onnx needs the export extra: {EXPORT_EXTRA}") from error
    graph = export_graph(generator)
    with torch.no_grad(), warnings.catch_warnings(), _quiet(ONNX_LOGGERS):
        # The exemplar's three inputs share one batch dimension on purpose; the exporter
        # notes that it names it once.
        warnings.filterwarnings("ignore", message=r"# The axis name: batch will not be used")
        program = torch.onnx.export(
            graph.module,
            tuple(graph.inputs.values()),
            input_names=list(graph.inputs),
            output_names=["output"],
            dynamic_shapes=graph.dynamic_shapes(),
            opset_version=ONNX_OPSET,
            dynamo=True,
            verbose=False,
        )
    model = program.model_proto
    for key, value in export_metadata(generator, graph).items():
        model.metadata_props.add(key=key, value=value)
    write_atomically(path, lambda file: file.write(model.SerializeToString()))
    onnx.checker.check_model(str(path))
    return path


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Only warnings and errors from the loggers ``names`` while the block runs."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
