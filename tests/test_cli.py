"""The console entry point as a user runs it: artifacts of a run and one-line errors."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import hydra
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from style_gan.data.images import load_rgb
from style_gan.data.transforms import image_transform
from style_gan.run.cli import CONFIG_DIR
from style_gan.train import main
from tests.conftest import FAST, FAST_TRAINER


def run_cli(
    tmp_path: Path, *overrides: str, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "STYLE_GAN_ROOT": str(tmp_path), "WANDB_MODE": "disabled", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "style_gan.train", *overrides],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout,
    )


def test_a_run_leaves_checkpoint_grid_losses_and_resolved_config(tmp_path: Path) -> None:
    # An srun on the PATH, as on a cluster's login node: Lightning's srun notice is noise here.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake_bin / "srun").chmod(0o755)
    result = run_cli(tmp_path, *FAST, env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "samples" / "final.png").is_file()
    assert (run / "csv" / "metrics.csv").read_text().count("\n") > 2
    assert "style_gan.methods.cyclegan.CycleGAN" in (run / ".hydra" / "config.yaml").read_text()
    assert (tmp_path / "data" / "demo_32px" / "demo.json").is_file()
    # Lightning's messages are in the run's log; its adverts, hints and warnings are not.
    log = (run / "train.log").read_text()
    assert "CycleGAN: " in log and "trainable parameters" in log
    assert "`Trainer.fit` stopped: `max_epochs=1` reached." in log
    for noise in (
        "💡",
        "FLOPs",
        "available: False",
        "Warning",
        "deprecated",
        "srun",
        "weights_only",
    ):
        assert noise not in result.stdout + result.stderr, noise


def test_a_run_of_max_batches_says_it_stopped_after_that_many_batches(tmp_path: Path) -> None:
    result = run_cli(tmp_path, *FAST, "max_batches=1", "trainer.max_epochs=null")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert "stopped after max_batches=1 batches" in (run / "train.log").read_text()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.adversarial.mode=wgan"],
            "error: model.adversarial.mode='wgan' is not allowed; "
            "choose one of: vanilla, lsgan, hinge, wgangp",
        ),
        (
            ["+model.lambda_cycel=5"],
            "error: unknown key 'model.lambda_cycel' for style_gan.methods.cyclegan.CycleGAN "
            "(did you mean 'lambda_cycle'?)",
        ),
        (["data=unpaired"], "error: data.root is required; set it on the command line"),
        (
            ["data=unpaired", "data.root=/no/such/folder"],
            "error: data.root /no/such/folder does not exist",
        ),
        (["model.generator.norm=group"], "error: norm='group' is not allowed; choose one of: "),
        (["model.lambda_cycle=abc"], "error: model.lambda_cycle='abc' must be a number"),
        (
            ["ckpt_path={tmp}/truncated.ckpt"],
            "error: checkpoint {tmp}/truncated.ckpt cannot be read",
        ),
    ],
)
def test_bad_input_fails_with_one_line(tmp_path: Path, overrides: list[str], message: str) -> None:
    (tmp_path / "truncated.ckpt").write_bytes(b"PK\x03\x04 half of a zip")
    overrides = [override.format(tmp=tmp_path) for override in overrides]
    message = message.format(tmp=tmp_path)
    result = run_cli(tmp_path, *FAST_TRAINER, *overrides)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.max_epochs=-5", "error: trainer.max_epochs=-5 must be >= 0, or -1 for no limit"),
        ("trainer.limit_val_batches=1.5", "error: trainer.limit_val_batches=1.5 must be "),
        ("trainer.precision=17", "error: trainer.precision=17 is not allowed; choose one of: "),
        # Beyond the config checks: Lightning's own refusal, on one line.
        ("+trainer.overfit_batches=-1", "error: You have passed invalid value -1 for overfit_"),
    ],
)
def test_a_bad_trainer_value_is_one_line_and_exit_2(
    tmp_path: Path, override: str, message: str
) -> None:
    result = run_cli(tmp_path, *FAST_TRAINER, override)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_trainer_gpu_without_a_gpu_says_to_use_the_cpu(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "trainer=gpu")
    assert result.returncode == 2
    assert result.stderr == (
        "error: trainer.accelerator='gpu': no GPU was found on this machine; "
        "train on the CPU with trainer=cpu\n"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model.lambda_cycel=5"],
            "error: unknown key 'model.lambda_cycel' for style_gan.methods.cyclegan.CycleGAN "
            "(did you mean 'lambda_cycle'?)",
        ),
        (["modle=cut"], "error: unknown key 'modle' for the config (did you mean 'model'?)"),
        (
            ["trainer.gradient_clip_val=1"],
            "error: trainer.gradient_clip_val is not in the config yet; add it with a leading +",
        ),
        (["trainer.max_steps=10"], "error: trainer.max_steps counts optimizer steps"),
        (
            ["model/generator=resnet_12blocks"],
            "error: model/generator=resnet_12blocks does not exist (did you mean "
            "'resnet_9blocks'?); choose one of: resnet_6blocks, resnet_9blocks, unet_128",
        ),
        (["model.lambda_cycle=["], "error: no viable alternative at input '['"),
    ],
)
def test_config_errors_hydra_finds_are_one_line_too(
    overrides: list[str], message: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    # In this process: Hydra refuses these before anything is built, so no subprocess is needed.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")  # restored after the test, whatever main() does
    monkeypatch.setattr(sys, "argv", ["style-gan-train", *overrides])
    with pytest.raises(SystemExit) as exit_info:
        main()
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and "HYDRA_FULL_ERROR" not in os.environ
    assert stderr.startswith(message) and stderr.count("\n") == 1, stderr


def test_hydra_full_error_still_gives_the_traceback(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "model.lambda_cycel=5", env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_ddp_from_the_command_line_relaunches_itself(tmp_path: Path) -> None:
    result = run_cli(tmp_path, *FAST, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_the_default_demo_run_beats_the_identity_on_held_out_ground_truth(tmp_path: Path) -> None:
    """Quick start line 1's training exactly as a newcomer runs it (a few minutes)."""
    result = run_cli(tmp_path, "callbacks.progress_bar=null", timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    assert (run / "samples" / "final.png").is_file()
    assert sum(path.stat().st_size for path in run.rglob("*") if path.is_file()) < 100e6
    for noise in ("💡", "FLOPs", "available: False", "Warning", "deprecated", "eval mode"):
        assert noise not in result.stdout + result.stderr, noise
    model = hydra.utils.instantiate(OmegaConf.load(run / ".hydra" / "config.yaml").model)
    model.load_state_dict(torch.load(run / "checkpoints" / "last.ckpt")["state_dict"])
    model.eval()
    to_tensor = image_transform("resize", 64, 64, flip=False, train=False)
    test = tmp_path / "data" / "demo_64px"
    names = sorted(p.name for p in (test / "testA").iterdir())
    content = torch.stack([to_tensor(load_rgb(test / "testA" / name)) for name in names])
    truth = torch.stack([to_tensor(load_rgb(test / "testB" / name)) for name in names])
    with torch.no_grad():
        translated = model(content)
    assert (translated - truth).abs().mean() < (content - truth).abs().mean()


def test_a_sweep_runs_each_combination_in_its_own_folder(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "-m", *FAST, "model.adversarial.mode=lsgan,hinge")
    assert result.returncode == 0, result.stderr[-2000:]
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    for job in ("0", "1"):
        assert (sweep / job / "checkpoints" / "last.ckpt").is_file()
    assert "mode: hinge" in (sweep / "1" / ".hydra" / "config.yaml").read_text()


# The console scripts as pyproject.toml declares them (what pip installs), script -> module:main.
SCRIPTS = dict(
    re.findall(
        r'^(style-gan-[\w-]+) = "([\w.]+:\w+)"$',
        (Path(__file__).parents[1] / "pyproject.toml").read_text(),
        re.MULTILINE,
    )
)
CONFIGS = {
    "style-gan-train": "train",
    "style-gan-eval": "eval",
    "style-gan-stylize": "stylize",
    "style-gan-export": "export",
    "style-gan-import": "import",
    "style-gan-studio": "studio",
}
TRAINING_GROUPS = ("data", "model", "metrics", "callbacks", "logger", "trainer", "experiment")
# Runs a console script's target as the installed script would, then says whether it imported
# torch.
RUN_SCRIPT = """
import atexit, importlib, sys
script, target, *args = sys.argv[1:]
atexit.register(lambda: print("torch imported:", "torch" in sys.modules, file=sys.stderr))
module, function = target.split(":")
sys.argv = [script, *args]
getattr(importlib.import_module(module), function)()
"""


def run_script(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", RUN_SCRIPT, script, SCRIPTS[script], *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def commented_keys(config: str) -> dict[str, str]:
    """The top-level keys of conf/<config>.yaml with the comment line right above them."""
    lines = (CONFIG_DIR / f"{config}.yaml").read_text().splitlines()
    return {
        line.split(":")[0]: above.lstrip("# ")
        for above, line in itertools.pairwise(lines)
        if above.startswith("# ") and re.match(r"^\w+:", line) and not line.startswith("defaults")
    }


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("script", sorted(CONFIGS))
def test_help_names_the_commands_own_keys_groups_and_an_example_without_torch(
    script: str, flag: str, tmp_path: Path
) -> None:
    result = run_script(script, flag, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torch imported: False" in result.stderr
    help_text = result.stdout
    config = yaml.safe_load((CONFIG_DIR / f"{CONFIGS[script]}.yaml").read_text())
    for key in set(config) - {"defaults", "task_name"}:
        assert re.search(rf"^  {key}[=.]", help_text, re.MULTILINE), key
    for key, comment in commented_keys(CONFIGS[script]).items():
        assert comment in help_text, key
    assert re.search(rf"^Example:\n  {script} \S+=", help_text, re.MULTILINE)
    groups = {next(iter(item)).split("@")[0] for item in config["defaults"] if item != "_self_"}
    for group in TRAINING_GROUPS:
        assert (re.search(rf"^  {group}=", help_text, re.MULTILINE) is not None) == (
            group in groups
        ), group
    assert "powered by Hydra" not in help_text


def test_python_m_prints_the_same_help_as_the_console_script(tmp_path: Path) -> None:
    module = run_cli(tmp_path, "--help")
    script = run_script("style-gan-train", "--help", cwd=tmp_path)
    assert module.returncode == 0 and module.stdout == script.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--cfg", "job", "ckpt_path=model.ckpt"], "ckpt_path: model.ckpt\nformat: safetensors\n"),
        (["--hydra-help"], "Hydra (1."),
    ],
)
def test_hydras_own_flags_still_reach_hydra(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_script("style-gan-export", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
