"""The README's `make` commands, run as printed, so the documentation and the lab cannot drift.

Nothing here measures: a sweep example is checked through Make's own plan (`make -n`) and the
dry run it starts with; a bad-input example is run for real, since it must stop before
anything starts; every other command must at least be a target Make can plan.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess

import pytest

from loadlab.plan.placement import host_cpus
from loadlab.stack.compose import ROOT

README = (ROOT / "README.md").read_text()
PROJECT = "loadlab-readme"
MAKE_STATE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def code_block_commands(text: str) -> list[str]:
    """`make` lines inside fenced code blocks, without their trailing comments."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    lines = (line.split(" #")[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line.startswith("make ") or line == "make"]


def inline_commands(text: str) -> list[str]:
    """`make ...` code spans in the prose and tables."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.findall(r"`(make [^`]+)`", prose)


def bad_input_commands(text: str) -> list[str]:
    """The examples of the paragraph that promises bad input is refused before anything starts;
    a bare assignment there (`USERS=0`) is an argument of the `make sweep` beside it."""
    [paragraph] = [p for p in text.split("\n\n") if "bad input" in p and "error:" in p]
    spans = re.findall(r"`([^`]+)`", paragraph)
    examples = [s for s in spans if s.startswith("make ") or re.fullmatch(r"[A-Z_]+=\S+", s)]
    return [s if s.startswith("make ") else f"make sweep {s}" for s in examples]


BAD = bad_input_commands(README)
GOOD = sorted(set(code_block_commands(README) + inline_commands(README)) - set(BAD))


def make(command: str, *flags: str, tmp_path, timeout: float = 120):
    """Run ``command`` as printed (plus ``flags``) in a fresh top-level make, with reports in
    ``tmp_path`` and a Compose project of its own."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_STATE}
    env.update(OUT=str(tmp_path / "reports"), COMPOSE_PROJECT_NAME=PROJECT)
    argv = shlex.split(command)
    return subprocess.run(
        [argv[0], "--no-print-directory", *flags, *argv[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dry_run_line(command: str, tmp_path) -> str:
    """The `loadlab ... --dry-run` line Make would run first for ``command``."""
    planned = make(command, "-n", tmp_path=tmp_path)
    assert planned.returncode == 0, planned.stderr
    [line] = [ln for ln in planned.stdout.splitlines() if "--dry-run" in ln]
    return line.split("  # ")[0]


def run_shell(line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def containers(project: str = PROJECT) -> list[str]:
    if not shutil.which("docker"):
        return []
    label = f"label=com.docker.compose.project={project}"
    done = subprocess.run(
        ["docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
    )
    return done.stdout.split()


def _skip_unless_bad_here(command: str) -> None:
    # `make sweep CPUS=3` is bad "on 2 cores": on a larger host it would start a sweep.
    for value in re.findall(r"CPUS=([\d.,]+)", command):
        if max(float(v) for v in value.split(",") if v) <= len(host_cpus()):
            pytest.skip(f"{command} is valid on a host with {len(host_cpus())} cores")


def test_readme_shows_the_commands_this_file_checks():
    """The README has set-up commands, sweep examples and bad-input examples to check."""
    assert {"make sweep", "make test"} <= set(GOOD)
    assert len([c for c in GOOD if c.startswith("make sweep ")]) >= 3
    assert len(BAD) >= 3


@pytest.mark.parametrize("command", BAD)
def test_bad_input_example_is_refused_before_anything_starts(command, tmp_path):
    """A bad-input example, run as printed, ends in one `error:` line, status 2 from loadlab,
    before Make reaches the engine or the images, with no container and no run directory."""
    _skip_unless_bad_here(command)
    # Only run the real command once its first step is known to stop it.
    first = run_shell(dry_run_line(command, tmp_path))
    assert first.returncode == 2, first.stdout + first.stderr
    done = make(command, tmp_path=tmp_path)
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert re.search(r"\] Error 2$", done.stderr, flags=re.M), done.stderr  # loadlab's status
    assert "engine:" not in done.stderr and "images:" not in done.stdout
    assert not (tmp_path / "reports").exists()
    assert containers() == []


@pytest.mark.parametrize("command", [c for c in GOOD if c.split()[1:2] == ["sweep"]])
def test_sweep_example_passes_its_dry_run(command, tmp_path):
    """A sweep example's own first step, the dry run Make derives from it, accepts it."""
    if "RESUME=" in command:
        pytest.skip("RESUME needs an interrupted run; tests/stack/test_sweep.py resumes one")
    done = run_shell(dry_run_line(command, tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("plan")


@pytest.mark.parametrize("command", GOOD)
def test_every_command_is_a_target_make_can_plan(command, tmp_path):
    """Every command the README shows names a real target whose recipe Make can expand."""
    done = make(command, "-n", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "No rule to make target" not in done.stderr
