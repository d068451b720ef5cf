"""One person's studio session (one browser tab): the chosen model with this session's own copy
of its weights, the content and style images, the feedback so far, every generation, and the
JSONL log of it all in the session's folder.

A session folder holds ``feedback.jsonl`` (one event a line: time, event, model and inputs by
sha256, parameters, rating, note), ``inputs/`` (the images used, as uploaded, named by their
sha256), ``results/`` (every generation as a PNG with its provenance embedded) and
``exports/`` (refined weights saved as safetensors exports).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
import json
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from style_gan.data.images import IMAGE_EXTENSIONS, InputImage, open_image
from style_gan.errors import CheckpointError, ConfigError
from style_gan.inference.critic import TrainedCritic, load_critic
from style_gan.inference.export import export_safetensors
from style_gan.inference.generator import TrainedGenerator
from style_gan.inference.images import save_image
from style_gan.inference.provenance import file_sha256, provenance_record
from style_gan.inference.stylizer import Stylizer
from style_gan.nets.feature_networks import feature_network
from style_gan.studio.feedback import Parameters, apply_feedback, describe
from style_gan.studio.generation import generate
from style_gan.studio.models import ModelChoice, load_model
from style_gan.studio.refine import Refiner, RefineStep


@dataclass(frozen=True)
class Generation:
    """One result: its number in the session, the PNG, the parameters and weights version that
    made it, and its provenance (what the PNG embeds)."""

    index: int
    result: Path
    parameters: Parameters
    weights_version: int
    provenance: dict[str, Any]


@dataclass(frozen=True)
class RefineSettings:
    """How a refine trains: the longest side the content is downsized to, the crop side,
    Adam's learning rate."""

    max_side: int = 384
    crop_side: int = 256
    lr: float = 1e-4


@dataclass(frozen=True)
class SessionInput:
    """A content or style image in use: the pixels, its file in ``inputs/`` and that file's
    sha256, and the name the browser gave it (for people; never opened)."""

    image: InputImage
    file: Path
    name: str
    sha256: str


@functools.cache
def shared_feature_network() -> torch.nn.Module:
    """φ for every session's refine: frozen, so one copy serves all."""
    return feature_network("efficientnet_lite0")


class StudioSession:
    """The state of one browser tab; its methods are the page's actions, each logged."""

    def __init__(
        self,
        folder: Path,
        device: str = "cpu",
        tile_size: int = 512,
        refine: RefineSettings | None = None,
    ) -> None:
        self.id = f"{datetime.datetime.now():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}"
        self.folder = folder / self.id
        self.device = device
        self.tile_size = tile_size
        self.refine_settings = refine or RefineSettings()
        self.model: ModelChoice | None = None
        self.trained: TrainedGenerator | None = None
        self.stylizer: Stylizer | None = None
        self.critic: TrainedCritic | None = None
        self.versions: list[dict[str, torch.Tensor]] = []
        self.version = 0
        self.content: SessionInput | None = None
        self.style: SessionInput | None = None
        self.parameters = Parameters()
        self.steps: list[dict[str, Any]] = []
        self.history: list[Generation] = []
        self.stop_requested = threading.Event()

    @property
    def log_path(self) -> Path:
        return self.folder / "feedback.jsonl"

    @property
    def method_input(self) -> str:
        return "image" if self.trained is None else self.trained.input

    @property
    def current(self) -> Generation | None:
        return self.history[-1] if self.history else None

    def select_model(self, choice: ModelChoice) -> str:
        """Use ``choice`` from its trained weights on; returns a line describing it."""
        trained = load_model(choice.path)
        module = copy.deepcopy(trained.module)
        self.trained = dataclasses.replace(trained, module=module)
        self.stylizer = Stylizer(self.trained, device=self.device, tile_size=self.tile_size)
        self.critic = None
        self.model = choice
        self.versions = [self._weights()]
        self.version = 0
        self.parameters = Parameters()
        self.steps = []
        self._log("model", model=choice.label, method=trained.method, input=trained.input)
        takes = {
            "image": "translates a content image",
            "image_and_style": "takes a content and a style image",
            "noise": "generates from noise (no content image)",
        }[trained.input]
        return f"{trained.method}, {trained.batches} batches trained: {takes}"

    def set_image(self, role: str, image: InputImage, source: Path, name: str) -> SessionInput:
        """Use ``image`` as the ``content`` or ``style`` image; ``source`` (a file the server
        chose: an upload's stored copy or a built-in example) is kept in ``inputs/``."""
        digest = file_sha256(source)
        suffix = source.suffix.lower()
        # The browser named the file: an image's own suffix, or none that the model list reads.
        if suffix not in (*IMAGE_EXTENSIONS, ".gif"):
            suffix = ".img"
        kept = self.folder / "inputs" / f"{digest[:16]}{suffix}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if not kept.exists():
            shutil.copyfile(source, kept)
        used = SessionInput(image=image, file=kept, name=name, sha256=digest)
        setattr(self, role, used)
        self._log(role, name=name, sha256=used.sha256, size=list(image.rgb.size))
        return used

    def generate(self) -> Generation:
        """A result with the current parameters and weights, saved with its provenance."""
        if self.stylizer is None or self.trained is None or self.model is None:
            raise ConfigError("choose a model first")
        if self.method_input != "noise" and self.content is None:
            raise ConfigError("choose or upload a content image first")
        if self.method_input == "image_and_style" and self.style is None:
            raise ConfigError(f"a {self.trained.method} model needs a style image: choose one")
        content = None if self.content is None or self.method_input == "noise" else self.content
        style = self.style if self.method_input == "image_and_style" else None
        result = generate(
            self.stylizer,
            None if content is None else content.image,
            None if style is None else style.image,
            self.parameters,
        )
        index = len(self.history) + 1
        settings = {
            **self.stylizer.settings(),
            **self.parameters.as_dict(),
            "studio_session": self.id,
            "generation": index,
            "weights": "checkpoint" if self.version == 0 else f"refined version {self.version}",
            "feedback": list(self.steps),
        }
        if content is not None:
            settings["content_name"] = content.name
        if style is not None:
            settings["style_name"] = style.name
        provenance = provenance_record(
            self.trained.method,
            self.trained.checkpoint,
            self.trained.batches,
            self.trained.direction,
            None if content is None else content.file,
            [] if style is None else [style.file],
            settings,
        )
        path = self.folder / "results" / f"{self.id}_{index:03d}.png"
        save_image(result, path, provenance)
        generation = Generation(index, path, self.parameters, self.version, provenance)
        self.history.append(generation)
        self._log("generate", generation=index, size=list(result.size))
        return generation

    def feedback(self, action: str) -> Parameters:
        """Apply one feedback press to the parameters of the next generation and refine."""
        before = self.parameters
        self.parameters = apply_feedback(before, action)
        step = {"action": action, "before": before.as_dict(), "after": self.parameters.as_dict()}
        self.steps.append(step)
        self._log("feedback", **step)
        return self.parameters

    def describe_next(self) -> str:
        weights = "checkpoint weights" if self.version == 0 else f"refined weights v{self.version}"
        return f"next: {describe(self.parameters, self.method_input)} · {weights}"

    def rate(self, rating: int | None, note: str) -> None:
        """A 1-5 rating and/or a note on the current generation."""
        if self.current is None:
            raise ConfigError("generate a result before rating it")
        if rating is None and not note:
            raise ConfigError("choose a rating (1-5) or write a note first")
        if rating is not None and not 1 <= int(rating) <= 5:
            raise ConfigError(f"a rating is 1 to 5, not {rating}")
        rating = None if rating is None else int(rating)
        self.steps.append({"action": "rating", "rating": rating, "note": note})
        self._log("rating", generation=self.current.index, rating=rating, note=note)

    def refine(self, steps: int, on_step: Callable[[RefineStep], None] | None = None) -> int:
        """Fine-tune this session's weights for up to ``steps`` steps on the content (and
        style) image, weighted by the feedback so far; ``stop()`` ends it after the step under
        way. The checkpoint is never written. Returns the steps done."""
        if self.trained is None or self.stylizer is None:
            raise ConfigError("choose a model first")
        if self.method_input == "noise":
            raise ConfigError(f"a {self.trained.method} model has no content image to refine on")
        if self.content is None:
            raise ConfigError("choose or upload a content image first")
        if not 1 <= steps <= 1000:
            raise ConfigError(f"refine steps must be 1 to 1000, not {steps}")
        device = self.stylizer.device
        content = self._refine_tensor(self.content.image, device)
        critic, style = None, None
        if self.method_input == "image_and_style":
            if self.style is None:
                raise ConfigError("choose a style image first")
            style = self._refine_tensor(self.style.image, device)
        else:
            if self.trained.checkpoint.suffix != ".ckpt":
                raise CheckpointError(
                    "refining a domain model needs its discriminator, which an export does not "
                    "keep: choose the run's .ckpt in the model list"
                )
            if self.critic is None:
                self.critic = load_critic(self.trained.checkpoint, self.trained.direction)
            critic = self.critic
        refiner = Refiner(
            self.stylizer.module,
            content,
            critic=critic,
            style=style,
            crop_side=self.refine_settings.crop_side,
            lr=self.refine_settings.lr,
            seed=len(self.versions),
            feature_net=shared_feature_network(),
        )
        self.stop_requested.clear()

        def step_done(report: RefineStep) -> bool:
            if on_step is not None:
                on_step(report)
            return not self.stop_requested.is_set()

        try:
            done = refiner.run(
                steps, self.parameters.strength, self.parameters.content_weight, step_done
            )
        except BaseException:
            # A refine that fails part-way leaves no half-trained weights behind.
            self.stylizer.module.load_state_dict(self.versions[self.version])
            raise
        if done:
            self.versions.append(self._weights())
            self.version = len(self.versions) - 1
            step = {
                "action": "refine",
                "steps": done,
                "of": steps,
                "style_weight": self.parameters.strength,
                "content_weight": self.parameters.content_weight,
                "weights_version": self.version,
            }
            self.steps.append(step)
            self._log("refine", **step)
        return done

    def stop(self) -> None:
        self.stop_requested.set()

    def return_to(self, index: int) -> Generation:
        """Make generation ``index`` (from 1) current again: its parameters and weights."""
        if not 1 <= index <= len(self.history):
            raise ConfigError(f"there is no generation {index} in this session")
        generation = self.history[index - 1]
        self.parameters = generation.parameters
        self._use_version(generation.weights_version)
        self.history.append(generation)
        self.steps.append({"action": "return_to", "generation": index})
        self._log("return_to", generation=index)
        return generation

    def export_refined(self) -> Path:
        """The current refined weights as a safetensors export in ``exports/`` (what
        ``Stylizer.from_pretrained`` and the model list read), with the feedback that made
        them in ``studio.json``."""
        if self.trained is None or self.version == 0:
            raise ConfigError("refine the model before saving refined weights")
        folder = self.folder / "exports" / f"refined_v{self.version}"
        module = copy.deepcopy(self.stylizer.module).cpu()
        export_safetensors(dataclasses.replace(self.trained, module=module), folder)
        record = {"studio_session": self.id, "weights_version": self.version, "steps": self.steps}
        (folder / "studio.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        self._log("export", folder=folder.name, weights_version=self.version)
        return folder

    def _use_version(self, version: int) -> None:
        if version != self.version and self.stylizer is not None:
            self.stylizer.module.load_state_dict(self.versions[version])
            self.version = version

    def _weights(self) -> dict[str, torch.Tensor]:
        module = self.stylizer.module if self.stylizer else self.trained.module
        return {key: value.detach().clone() for key, value in module.state_dict().items()}

    def _refine_tensor(self, image: InputImage, device: torch.device) -> torch.Tensor:
        """(1, 3, H, W) in [-1, 1], downsized to the refine's ``max_side`` and grown (edge
        padding) to at least one multiple of the generator's input size a side."""
        rgb = image.rgb
        longest = self.refine_settings.max_side
        if max(rgb.size) > longest:
            scale = longest / max(rgb.size)
            size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        pixels = np.asarray(rgb, dtype=np.float32)
        multiple = int(getattr(self.stylizer.module, "size_multiple", 1))
        grow = [max(0, multiple - side) for side in pixels.shape[:2]]
        pixels = np.pad(pixels, ((0, grow[0]), (0, grow[1]), (0, 0)), mode="edge")
        tensor = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None] / 127.5 - 1
        return tensor.to(device)

    def _log(self, event: str, **fields: Any) -> None:
        record = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "session": self.id,
            "event": event,
            "model": None if self.model is None else self.model.label,
            "checkpoint_sha256": None
            if self.trained is None
            else file_sha256(self.trained.checkpoint),
            "content_sha256": None if self.content is None else self.content.sha256,
            "style_sha256": None if self.style is None else self.style.sha256,
            "parameters": self.parameters.as_dict(),
            "weights_version": self.version,
            **fields,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, sort_keys=True) + "\n")


def example_input(path: Path) -> InputImage:
    """A built-in example image (a file the studio wrote itself)."""
    image = open_image(path)
    return InputImage(rgb=image.rgb, alpha=None, path=None)
