"""The studio below its page: sessions on real one-batch checkpoints (generate, feedback, refine,
return, export, the JSONL log and the provenance), upload checks on real files, model discovery,
the critic a refine trains against, and the page's own handlers on what a browser may send (only
its own uploads, only listed models, none loaded unasked). The page itself is tested in a real
browser (tests/test_studio_browser.py, slow)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from style_gan.errors import CheckpointError, ConfigError, DivergenceError
from style_gan.inference.critic import load_critic
from style_gan.inference.images import embedded_metadata
from style_gan.inference.provenance import file_sha256
from style_gan.inference.stylizer import Stylizer
from style_gan.studio import models
from style_gan.studio.examples import write_examples
from style_gan.studio.feedback import Parameters, apply_feedback
from style_gan.studio.generation import high_pass, unit_tensor
from style_gan.studio.launch import studio
from style_gan.studio.models import find_models
from style_gan.studio.session import RefineSettings, StudioSession, example_input
from style_gan.studio.uploads import UploadLimits, UploadRefused, read_upload
from tests.conftest import compose_config, write_image

SMALL_REFINE = RefineSettings(max_side=64, crop_side=32)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    return write_examples(tmp_path_factory.mktemp("examples"))


def session_on(
    checkpoint: Path, folder: Path, examples: dict[str, dict[str, Path]], style: bool = False
) -> StudioSession:
    """A session on ``checkpoint`` with a 96×64 crop of a built-in photo as its content."""
    session = StudioSession(folder, refine=SMALL_REFINE)
    label = find_models(folder / "none", [checkpoint])[0]
    session.select_model(label)
    content = folder / "content.png"
    Image.open(examples["content"]["chelsea"]).crop((100, 50, 196, 114)).save(content)
    session.set_image("content", example_input(content), content, "content.png")
    if style:
        path = examples["style"]["rocket"]
        session.set_image("style", example_input(path), path, "rocket (built-in)")
    return session


def log_events(session: StudioSession) -> list[dict]:
    return [json.loads(line) for line in session.log_path.read_text().splitlines()]


def test_feedback_steps_move_one_parameter_each_within_bounds() -> None:
    start = Parameters()
    assert apply_feedback(start, "stronger_style").strength == 1.25
    assert apply_feedback(start, "weaker_style").strength == 0.8
    assert apply_feedback(start, "keep_content").content_weight == 1.5625
    assert apply_feedback(start, "variation") == Parameters(seed=1)
    strongest = start
    for _ in range(10):
        strongest = apply_feedback(strongest, "stronger_style")
    assert strongest.strength == 1.5
    with pytest.raises(ValueError, match="unknown feedback"):
        apply_feedback(start, "bolder")


def test_a_session_generates_at_the_content_size_and_each_feedback_changes_the_result(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    checkpoint = one_batch_checkpoint("cyclegan")
    session = session_on(checkpoint, tmp_path, examples)
    plain = session.generate()
    pixels = {"plain": np.asarray(Image.open(plain.result), dtype=np.float32)}
    assert Image.open(plain.result).size == (96, 64)
    for action in ("stronger_style", "variation", "keep_content"):
        session.feedback(action)
        pixels[action] = np.asarray(Image.open(session.generate().result), dtype=np.float32)
        assert np.abs(pixels[action] - pixels["plain"]).mean() > 0.5, action
    # Stronger style moves the result further from the content than the plain pass.
    content = np.asarray(Image.open(tmp_path / "content.png"), dtype=np.float32)
    assert (
        np.abs(pixels["stronger_style"] - content).mean() > np.abs(pixels["plain"] - content).mean()
    )
    # Keeping more of the content brings the result's fine detail closer to the content's.
    detail = high_pass(unit_tensor(Image.open(tmp_path / "content.png")))

    def detail_gap(result: np.ndarray) -> float:
        image = Image.fromarray(result.astype(np.uint8))
        return float((high_pass(unit_tensor(image)) - detail).abs().mean())

    assert detail_gap(pixels["keep_content"]) < 0.8 * detail_gap(pixels["variation"])
    record = embedded_metadata(session.current.result)
    assert record["checkpoint"]["sha256"] == file_sha256(checkpoint)
    assert record["content"]["sha256"] == file_sha256(tmp_path / "content.png")
    actions = [step["action"] for step in record["settings"]["feedback"]]
    assert actions == ["stronger_style", "variation", "keep_content"]
    assert record["settings"]["content_weight"] == 1.5625


def test_a_refine_changes_only_the_sessions_weights_and_can_be_returned_from_and_exported(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    checkpoint = one_batch_checkpoint("cyclegan")
    checkpoint_sha = file_sha256(checkpoint)
    session = session_on(checkpoint, tmp_path / "a", examples)
    other = session_on(checkpoint, tmp_path / "b", examples)
    before = session.generate()
    session.feedback("stronger_style")
    reports = []
    assert session.refine(2, reports.append) == 2
    assert [r.step for r in reports] == [1, 2]
    refined = session.generate()
    assert refined.weights_version == 1
    assert refined.provenance["settings"]["weights"] == "refined version 1"
    assert not np.array_equal(
        np.asarray(Image.open(before.result)), np.asarray(Image.open(refined.result))
    )
    # Neither the checkpoint nor another session's weights moved.
    assert file_sha256(checkpoint) == checkpoint_sha
    untouched = other.generate()
    np.testing.assert_array_equal(
        np.asarray(Image.open(untouched.result)), np.asarray(Image.open(before.result))
    )
    # The export holds the refined weights: from_pretrained reproduces the session's pass.
    folder = session.export_refined()
    exported = Stylizer.from_pretrained(folder, device="cpu")
    for mine, theirs in zip(
        session.stylizer.module.state_dict().values(),
        exported.module.state_dict().values(),
        strict=True,
    ):
        torch.testing.assert_close(mine, theirs)
    assert json.loads((folder / "studio.json").read_text())["steps"][1]["action"] == "refine"
    # Returning to the first generation restores its parameters and the trained weights.
    back = session.return_to(before.index)
    assert session.parameters == Parameters() and session.version == 0
    again = session.generate()
    np.testing.assert_array_equal(
        np.asarray(Image.open(again.result)), np.asarray(Image.open(back.result))
    )
    session.rate(4, "more ink")
    events = log_events(session)
    assert [e["event"] for e in events] == [
        "model",
        "content",
        "generate",
        "feedback",
        "refine",
        "generate",
        "export",
        "return_to",
        "generate",
        "rating",
    ]
    assert events[-1]["rating"] == 4 and events[-1]["note"] == "more ink"
    assert {e["checkpoint_sha256"] for e in events} == {checkpoint_sha}
    assert events[-1]["content_sha256"] == file_sha256(tmp_path / "a" / "content.png")


def test_a_refine_stops_after_the_step_under_way(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    session = session_on(one_batch_checkpoint("cyclegan"), tmp_path, examples)
    assert session.refine(50, lambda report: session.stop()) == 1
    assert session.version == 1


def test_a_failed_refine_leaves_the_weights_as_they_were(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    session = session_on(one_batch_checkpoint("cyclegan"), tmp_path, examples)
    trained = [t.clone() for t in session.stylizer.module.state_dict().values()]

    def interrupt(report) -> None:
        if report.step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        session.refine(5, interrupt)
    session.parameters = Parameters(strength=float("nan"))
    with pytest.raises(DivergenceError, match="the refine's loss is nan at step 1"):
        session.refine(5)
    assert session.version == 0 and len(session.versions) == 1
    for now, before in zip(session.stylizer.module.state_dict().values(), trained, strict=True):
        torch.testing.assert_close(now, before)


def test_an_exemplar_session_refines_towards_its_style_image(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    session = session_on(one_batch_checkpoint("exemplar"), tmp_path, examples, style=True)
    first = session.generate()
    assert first.provenance["styles"][0]["file"].endswith(".png")
    with pytest.raises(ConfigError, match="choose a rating"):
        session.rate(None, "")
    reports = []
    session.parameters = Parameters(strength=4.0)
    session.refine(6, reports.append)
    assert reports[-1].style_loss < reports[0].style_loss


def test_noise_models_generate_samples_and_have_nothing_to_refine(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    session = StudioSession(tmp_path)
    session.select_model(find_models(tmp_path / "none", [one_batch_checkpoint("dcgan")])[0])
    row = Image.open(session.generate().result)
    assert row.width == 8 * row.height
    with pytest.raises(ConfigError, match="no content image to refine"):
        session.refine(2)


def test_actions_out_of_order_are_one_line_errors(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path
) -> None:
    session = StudioSession(tmp_path)
    with pytest.raises(ConfigError, match="choose a model first"):
        session.generate()
    session.select_model(find_models(tmp_path / "none", [one_batch_checkpoint("exemplar")])[0])
    with pytest.raises(ConfigError, match="content image first"):
        session.generate()
    with pytest.raises(ConfigError, match="before rating"):
        session.rate(3, "")
    with pytest.raises(ConfigError, match="refine the model before saving"):
        session.export_refined()


def test_the_critic_is_the_style_domains_discriminator(
    one_batch_checkpoint: Callable[[str], Path],
) -> None:
    checkpoint = one_batch_checkpoint("cyclegan")
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"]
    for direction, name in (("AB", "d_b"), ("BA", "d_a")):
        critic = load_critic(checkpoint, direction)
        weights = critic.module.state_dict()
        torch.testing.assert_close(
            next(iter(weights.values())), state[f"{name}.{next(iter(weights))}"]
        )
        assert not critic.sees_source
    with pytest.raises(CheckpointError, match="no discriminator for direction='XY'"):
        load_critic(checkpoint, "XY")


def test_a_domain_model_export_cannot_be_refined(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    session = session_on(one_batch_checkpoint("cyclegan"), tmp_path / "a", examples)
    session.refine(1)
    export = session.export_refined()
    refined = session_on(export, tmp_path / "b", examples)
    with pytest.raises(CheckpointError, match="export does not keep"):
        refined.refine(1)


def png_with_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width``×``height`` but holds almost no data: what a
    decompression bomb's header looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_uploads_are_refused_by_bytes_content_pixels_and_size_with_one_line(
    tmp_path: Path,
) -> None:
    limits = UploadLimits(max_bytes=20_000, max_pixels=1_000_000, min_side=16)
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    cases = {
        text: "notes.png is not an image file",
        png_with_header(tmp_path / "bomb.png", 100_000, 100_000): "decompression bomb",
        png_with_header(tmp_path / "big.png", 2000, 2000): "more than max_pixels=1000000",
        write_image(tmp_path / "dot.png", (1, 1)): "1×1 px; the studio needs at least 16",
        write_image(tmp_path / "large.png", (200, 200)): "MB; the studio takes",
        write_image(tmp_path / "anim.ico", (32, 32)): "ICO image; the studio takes",
    }
    for path, message in cases.items():
        with pytest.raises(UploadRefused, match=message) as refused:
            read_upload(path, path.name, limits)
        assert "\n" not in str(refused.value) and str(tmp_path) not in str(refused.value)
    image = read_upload(write_image(tmp_path / "ok.webp", (40, 30), "RGBA"), "ok.webp", limits)
    assert image.rgb.size == (40, 30) and image.alpha is None


def test_models_are_listed_given_first_then_newest_first(tmp_path: Path) -> None:
    old = tmp_path / "train/runs/a/checkpoints/last.ckpt"
    new = tmp_path / "train/multiruns/b/0/checkpoints/best_epoch_001.ckpt"
    export = tmp_path / "export/runs/c/style_gan.json"
    given = tmp_path / "elsewhere.ckpt"
    for age, path in enumerate((new, export, old, given)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (1e9 - age * 100, 1e9 - age * 100))
    os.utime(export.parent, (1e9 - 100, 1e9 - 100))
    choices = find_models(tmp_path, [given])
    assert [c.path for c in choices] == [given, new, export.parent, old]
    assert choices[1].label.startswith("train/multiruns/b/0/checkpoints/best_epoch_001.ckpt (")
    assert find_models(tmp_path / "missing", []) == []
    assert [c.path for c in find_models(tmp_path, [], [tmp_path / "train"])] == [
        export.parent,
        given,
    ]


def test_the_studio_refuses_a_missing_checkpoint_and_a_bad_port(tmp_path: Path) -> None:
    missing = compose_config("studio", [f"ckpt_path={tmp_path}/none.ckpt"], tmp_path, tmp_path)
    with pytest.raises(ConfigError, match=f"ckpt_path={tmp_path}/none.ckpt does not exist"):
        studio(missing)
    with pytest.raises(ConfigError, match="port=70000 must be 1 to 65535"):
        studio(compose_config("studio", ["port=70000"], tmp_path, tmp_path))


# Paths opened while a test watches, by Python's audit hook: a hook cannot be removed, so one
# is added the first time and records only while a test holds a list here.
_watching: list[list[str]] = []
_hooked: list[bool] = []


def _record_open(event: str, args: tuple) -> None:
    if event == "open" and _watching and isinstance(args[0], (str, os.PathLike)):
        _watching[-1].append(os.fspath(args[0]))


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """Every path the process opens while the test runs."""
    if not _hooked:
        sys.addaudithook(_record_open)
        _hooked.append(True)
    _watching.append([])
    try:
        yield _watching[-1]
    finally:
        _watching.pop()


def page_actions(tmp_path: Path, examples: dict, given: list[Path] | None = None) -> Any:
    """The page's handlers (no server) on ``tmp_path/logs``, with uploads stored in
    ``tmp_path/logs/studio/uploads``, as ``style-gan-studio`` lays them out."""
    pytest.importorskip("gradio")
    from style_gan.studio.page import StudioActions, StudioSettings

    settings = StudioSettings(
        logs_dir=tmp_path / "logs",
        sessions_dir=tmp_path / "sessions",
        examples=examples,
        given_models=given or [],
        upload_dir=tmp_path / "logs/studio/uploads",
    )
    settings.upload_dir.mkdir(parents=True)
    return StudioActions(settings)


def open_tab(actions: Any) -> tuple[str, dict, str]:
    """What the page shows a new tab: its session id, the model dropdown, the status line."""
    import gradio as gr

    outputs = actions.start(gr.Request(session_hash=f"tab{len(actions.sessions)}"))
    return outputs[0], outputs[1], outputs[-1]


def test_the_page_reads_only_files_its_uploads_were_stored_in(
    tmp_path: Path, examples: dict, opened: list[str]
) -> None:
    actions = page_actions(tmp_path, examples)
    uploads = actions.settings.upload_dir
    session_id, _, _ = open_tab(actions)
    session = actions.sessions[session_id]
    upload = actions.guarded(actions.upload("content"))
    private = write_image(tmp_path / "private/photo.png", (40, 30))
    link = uploads / "0a1b" / "photo.png"
    link.parent.mkdir()
    link.symlink_to(private)
    written = len(opened)
    for posted in (private, link, uploads / ".." / ".." / ".." / "private/photo.png"):
        status = upload(session_id, str(posted))[-1]
        assert status == (
            "⚠ the studio opens only images uploaded through its page: upload the image again"
        )
        assert session.content is None and not (session.folder / "inputs").exists()
    assert not [path for path in opened[written:] if Path(path).resolve() == private.resolve()]
    # Gradio stores an upload as <upload_dir>/<hash>/<the browser's name>; the name is not
    # trusted: this PNG is called a checkpoint, and is kept as an image.
    stored = write_image(uploads / "2c3d" / "street.png", (40, 30)).rename(
        uploads / "2c3d" / "street.ckpt"
    )
    assert upload(session_id, str(stored))[-1] == "content image: street.ckpt, 40×30"
    assert session.content.sha256 == file_sha256(stored)
    assert session.content.file.suffix == ".img"
    assert not list(session.folder.rglob("*.ckpt"))


def test_the_page_loads_no_model_until_one_from_its_list_is_picked(
    one_batch_checkpoint: Callable[[str], Path], tmp_path: Path, examples: dict
) -> None:
    actions = page_actions(tmp_path, examples)
    trained = tmp_path / "logs/train/runs/a/checkpoints/last.ckpt"
    trained.parent.mkdir(parents=True)
    shutil.copyfile(one_batch_checkpoint("cyclegan"), trained)
    # A browser's upload with a checkpoint's name is not offered as a model.
    planted = actions.settings.upload_dir / "4e5f" / "best.ckpt"
    planted.parent.mkdir()
    shutil.copyfile(trained, planted)
    loads = models._load.cache_info()
    session_id, dropdown, status = open_tab(actions)
    session = actions.sessions[session_id]
    assert [choice.path for choice in actions.offered[session_id].values()] == [trained]
    assert dropdown["choices"] == list(actions.offered[session_id]) and dropdown["value"] is None
    assert status == "choose a model from the list (1 found): none is loaded until you do"
    assert session.trained is None and models._load.cache_info() == loads
    choose = actions.guarded(actions.choose_model)
    for posted in (str(trained), str(planted), "/etc/passwd", None):
        assert choose(session_id, posted)[-1] == "⚠ choose a model from the list"
        assert session.trained is None and models._load.cache_info() == loads
    label = dropdown["choices"][0]
    assert choose(session_id, label)[-1].startswith(f"{label}: CycleGAN, ")
    assert session.model.path == trained
    # A model the operator named (ckpt_path=) is their choice: the page opens with it loaded.
    given = page_actions(tmp_path / "given", examples, [trained])
    session_id, dropdown, status = open_tab(given)
    assert dropdown["value"] == dropdown["choices"][0] and status.endswith(
        "CycleGAN, 1 batches trained: translates a content image"
    )
    assert given.sessions[session_id].model.path == trained
