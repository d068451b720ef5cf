"""The studio's web page (Gradio): pick a model, a content image and (for the exemplar method) a
style image; generate; say what to change; refine; go back to any result; download it.

Each browser tab is its own StudioSession, held server-side and named in the tab's state by
id only. Every computation shares one queue slot (``concurrency_id="model"``), so tabs wait
their turn instead of sharing the CPU; the stop button has its own, so it acts at once.
Nothing the browser sends is used as a server path: models and examples are chosen by their
label in lists the server made (a model is loaded only when a person picks it, or when the
operator named it), and an upload is read only from a file inside the folder this server
stores uploads in.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from style_gan.errors import StyleGanError
from style_gan.studio.feedback import ACTIONS
from style_gan.studio.models import CHOOSE_MODEL, NO_MODEL, ModelChoice, find_models
from style_gan.studio.session import RefineSettings, StudioSession, example_input
from style_gan.studio.uploads import UploadLimits, read_upload, uploaded_file

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr

FEEDBACK_LABELS = {
    "stronger_style": "Stronger style",
    "weaker_style": "Weaker style",
    "keep_content": "Keep more of the content",
    "variation": "Another variation",
}
# System fonts: the default theme's web fonts would be fetched from the internet.
THEME_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
# Gradio widens a gallery's few thumbnails to fill its width; these stay thumbnails.
PAGE_CSS = (
    "#history .grid-container, #content-example .grid-container, #style-example .grid-container "
    "{grid-template-columns: repeat(auto-fill, minmax(100px, 140px)) !important}"
)
# Pixels of page height for each of content | style | result (shown scaled, kept full-size).
IMAGE_HEIGHT = 360


@dataclass
class StudioSettings:
    """What every session of one studio shares: where models are found and sessions kept,
    the models the operator named, the folder Gradio stores uploads in, the device, the upload
    limits, tiling, and how refines train."""

    logs_dir: Path
    sessions_dir: Path
    examples: dict[str, dict[str, Path]]
    given_models: list[Path]
    upload_dir: Path
    device: str = "cpu"
    limits: UploadLimits = field(default_factory=UploadLimits)
    tile_size: int = 512
    refine: RefineSettings = field(default_factory=RefineSettings)
    refine_steps: int = 20


class StudioActions:
    """What the page's events do: each tab's session, the models each tab was offered, and the
    checks on what a browser sends. An action takes the tab's session id and the inputs and
    returns the page's shown outputs (see ``show``)."""

    def __init__(self, settings: StudioSettings) -> None:
        self.settings = settings
        self.sessions: dict[str, StudioSession] = {}
        # Session id -> the models its tab lists, by label: the only ones it may choose.
        self.offered: dict[str, dict[str, ModelChoice]] = {}
        # Gradio's id of a browser tab -> its session's, to drop the session when the tab closes.
        self.owners: dict[str, str] = {}

    def session_of(self, session_id: str | None) -> StudioSession:
        if session_id not in self.sessions:
            raise gr.Error("this page's session has ended: reload the page")
        return self.sessions[session_id]

    def guarded(self, action: Callable[..., tuple[Any, ...]]) -> Callable[..., tuple[Any, ...]]:
        """``action(session, *inputs)`` called with a tab's session id in place of its session,
        its one-line errors shown on the page; its signature is kept, so Gradio still passes
        the event data and progress it asks for."""

        @functools.wraps(action)
        def run(session_id: str, *inputs: Any) -> tuple[Any, ...]:
            session = self.session_of(session_id)
            try:
                return action(session, *inputs)
            except StyleGanError as error:
                return show(session, f"⚠ {error}")

        return run

    def start(self, request: gr.Request) -> tuple[Any, ...]:
        """A new tab: its session and the model list, where only a model the operator named
        (``ckpt_path``) is chosen, and loaded, before a person picks one."""
        settings = self.settings
        session = StudioSession(
            settings.sessions_dir, settings.device, settings.tile_size, settings.refine
        )
        self.sessions[session.id] = session
        self.owners[request.session_hash] = session.id
        # An upload named *.ckpt is a browser's file, not a trained model.
        choices = find_models(settings.logs_dir, settings.given_models, [settings.upload_dir])
        offered = self.offered[session.id] = {choice.label: choice for choice in choices}
        chosen = choices[0].label if settings.given_models else None
        if chosen is not None:
            try:
                status = f"{chosen}: {session.select_model(offered[chosen])}"
            except StyleGanError as error:
                status = f"⚠ {error}"
        elif choices:
            status = CHOOSE_MODEL.format(count=len(choices))
        else:
            status = NO_MODEL.format(where=settings.logs_dir)
        return (
            session.id,
            gr.update(choices=list(offered), value=chosen),
            *show(session, status),
        )

    def end(self, request: gr.Request) -> None:
        session_id = self.owners.pop(request.session_hash, "")
        self.sessions.pop(session_id, None)
        self.offered.pop(session_id, None)

    def choose_model(self, session: StudioSession, label: str) -> tuple[Any, ...]:
        offered = self.offered.get(session.id, {})
        if label not in offered:
            return show(session, "⚠ choose a model from the list")
        return show(session, f"{label}: {session.select_model(offered[label])}")

    def upload(self, role: str) -> Callable[..., tuple[Any, ...]]:
        def read(session: StudioSession, stored: str | None) -> tuple[Any, ...]:
            if not stored:
                return show(session)
            path = uploaded_file(stored, self.settings.upload_dir)
            image = read_upload(path, path.name, self.settings.limits)
            session.set_image(role, image, path, path.name)
            size = f"{image.rgb.width}×{image.rgb.height}"
            return show(session, f"{role} image: {path.name}, {size}")

        return read

    def example(self, role: str) -> Callable[..., tuple[Any, ...]]:
        def pick(session: StudioSession, event: gr.SelectData) -> tuple[Any, ...]:
            name, path = list(self.settings.examples[role].items())[event.index]
            session.set_image(role, example_input(path), path, f"{name} (built-in)")
            return show(session, f"{role} image: built-in {name}")

        return pick

    def generate(self, session: StudioSession) -> tuple[Any, ...]:
        generation = session.generate()
        return show(session, f"generation #{generation.index} done")

    def feedback(self, action: str) -> Callable[..., tuple[Any, ...]]:
        def press(session: StudioSession) -> tuple[Any, ...]:
            session.feedback(action)
            generation = session.generate()
            return show(session, f"{FEEDBACK_LABELS[action]}: generation #{generation.index}")

        return press

    def rate(self, session: StudioSession, rating: int | None, note: str) -> tuple[Any, ...]:
        session.rate(rating, note or "")
        return show(session, f"rating {rating} saved for generation #{session.current.index}")

    def refine(
        self,
        session: StudioSession,
        steps: float,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (how Gradio asks for a bar)
    ) -> tuple[Any, ...]:
        total = int(steps)
        progress(0, desc="refining", total=total)
        done = session.refine(
            total, lambda report: progress((report.step, report.steps), desc="refining")
        )
        generation = session.generate()
        return show(session, f"refined for {done} of {total} steps: generation #{generation.index}")

    def stop(self, session_id: str) -> None:
        if session_id in self.sessions:
            self.sessions[session_id].stop()

    def return_to(self, session: StudioSession, event: gr.SelectData) -> tuple[Any, ...]:
        chosen = session.history[event.index]
        session.return_to(chosen.index)
        return show(session, f"back to generation #{chosen.index}")

    def export(self, session: StudioSession) -> tuple[Any, ...]:
        folder = session.export_refined()
        return show(session, f"refined weights saved as an export: {folder}")


def show(session: StudioSession, status: str = "") -> tuple[Any, ...]:
    """The page's shown outputs for ``session``: content, style, result, history, download,
    the next generation's description and the status line."""
    current = session.current
    needs_style = session.method_input == "image_and_style"
    history = [
        (str(g.result), f"#{g.index} · {_caption(g.parameters.as_dict())}") for g in session.history
    ]
    return (
        None if session.content is None else str(session.content.file),
        gr.update(
            value=None if session.style is None else str(session.style.file),
            visible=needs_style,
        ),
        None if current is None else str(current.result),
        history,
        gr.update(
            value=None if current is None else str(current.result),
            interactive=current is not None,
        ),
        session.describe_next(),
        status,
    )


def build_page(settings: StudioSettings) -> gr.Blocks:
    """The page; ``launch`` it with ``max_file_size=settings.limits.max_bytes`` and with
    GRADIO_TEMP_DIR set to ``settings.upload_dir`` (before the page is built)."""
    actions = StudioActions(settings)
    guarded = actions.guarded
    with gr.Blocks(title="style_gan studio", analytics_enabled=False) as page:
        session_id = gr.State()
        gr.Markdown("# style_gan studio")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            model = gr.Dropdown(label="Model", choices=[], elem_id="model", scale=3)
            next_line = gr.Markdown(elem_id="next")
        with gr.Row():
            with gr.Column():
                content_upload = gr.File(
                    label="Upload a content image",
                    file_types=["image"],
                    height=120,
                    elem_id="content-upload",
                )
                content_example = example_gallery(
                    settings.examples["content"], "or a built-in one", "content-example"
                )
            with gr.Column():
                style_upload = gr.File(
                    label="Upload a style image (exemplar models)",
                    file_types=["image"],
                    height=120,
                    elem_id="style-upload",
                )
                style_example = example_gallery(
                    settings.examples["style"], "or one of the demo's styles", "style-example"
                )
        generate_button = gr.Button("Generate", variant="primary", elem_id="generate")
        with gr.Row():
            content_view = gr.Image(
                label="Content", type="filepath", interactive=False, height=IMAGE_HEIGHT
            )
            style_view = gr.Image(
                label="Style", type="filepath", interactive=False, height=IMAGE_HEIGHT
            )
            result_view = gr.Image(
                label="Result",
                type="filepath",
                interactive=False,
                height=IMAGE_HEIGHT,
                elem_id="result",
            )
        with gr.Row():
            feedback_buttons = {
                action: gr.Button(FEEDBACK_LABELS[action], elem_id=action.replace("_", "-"))
                for action in ACTIONS
            }
        with gr.Row():
            rating = gr.Radio([1, 2, 3, 4, 5], label="Rating", elem_id="rating")
            note = gr.Textbox(label="Note", elem_id="note")
            rate_button = gr.Button("Save rating", elem_id="rate")
        with gr.Row():
            steps = gr.Slider(
                1,
                200,
                value=settings.refine_steps,
                step=1,
                label="Refine steps",
                elem_id="refine-steps",
            )
            refine_button = gr.Button("Refine", elem_id="refine")
            stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
            export_button = gr.Button("Save refined weights as an export", elem_id="export")
        download = gr.DownloadButton(
            "Download PNG", interactive=False, elem_id="download", variant="primary"
        )
        history = gr.Gallery(
            label="History (click one to return to it)",
            allow_preview=False,
            object_fit="contain",
            height=240,
            elem_id="history",
        )

        shown = [content_view, style_view, result_view, history, download, next_line, status]
        computing = {"concurrency_id": "model", "concurrency_limit": 1}
        page.load(actions.start, outputs=[session_id, model, *shown])
        page.unload(actions.end)
        model.input(guarded(actions.choose_model), [session_id, model], shown, **computing)
        content_upload.upload(
            guarded(actions.upload("content")), [session_id, content_upload], shown, **computing
        )
        style_upload.upload(
            guarded(actions.upload("style")), [session_id, style_upload], shown, **computing
        )
        content_example.select(
            guarded(actions.example("content")), [session_id], shown, **computing
        )
        style_example.select(guarded(actions.example("style")), [session_id], shown, **computing)
        generate_button.click(guarded(actions.generate), [session_id], shown, **computing)
        for action, button in feedback_buttons.items():
            button.click(guarded(actions.feedback(action)), [session_id], shown, **computing)
        rate_button.click(guarded(actions.rate), [session_id, rating, note], shown, **computing)
        refine_button.click(guarded(actions.refine), [session_id, steps], shown, **computing)
        stop_button.click(
            actions.stop, [session_id], None, concurrency_id="stop", concurrency_limit=None
        )
        export_button.click(guarded(actions.export), [session_id], shown, **computing)
        history.select(guarded(actions.return_to), [session_id], shown, **computing)
    return page


def example_gallery(examples: dict[str, Path], label: str, elem_id: str) -> gr.Gallery:
    """Thumbnails of built-in images, captioned by name; a click picks one."""
    return gr.Gallery(
        [(str(path), name) for name, path in examples.items()],
        label=label,
        columns=len(examples),
        height=150,
        allow_preview=False,
        object_fit="cover",
        elem_id=elem_id,
    )


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=THEME_FONTS, font_mono=["ui-monospace", "monospace"])


def _caption(parameters: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value:g}" for key, value in parameters.items())
