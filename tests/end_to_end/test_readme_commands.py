"""The `make` commands of the README and of every docs page, run as printed, so the
documentation and the lab cannot drift.

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
from tests.end_to_end import test_bad_inputs as generator

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXTS = {page.relative_to(ROOT).as_posix(): page.read_text() for page in PAGES}
PROJECT = "loadlab-readme"
MAKE_STATE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
# docs/bad-inputs.md's generator writes its temporary OUT as this placeholder.
PLACEHOLDER = "OUT"


def code_block_commands(text: str) -> list[str]:
    """`make` lines inside fenced code blocks, without their trailing comments."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    lines = (line.split(" #")[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line.startswith("make ") or line == "make"]


def inline_commands(text: str) -> list[str]:
    """`make ...` code spans in the prose and tables."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.findall(r"`(make [^`]+)`", prose)


def bad_input_paragraphs(text: str) -> list[str]:
    """The paragraphs that promise bad input is refused before anything starts."""
    paragraphs = (" ".join(p.split()) for p in text.split("\n\n"))
    return [p for p in paragraphs if "bad input is one `error:` line" in p]


def bad_input_commands(text: str) -> list[str]:
    """The examples of a paragraph that promises bad input is refused; a bare assignment there
    (`USERS=0`) is an argument of the `make sweep` beside it."""
    spans = [s for p in bad_input_paragraphs(text) for s in re.findall(r"`([^`]+)`", p)]
    examples = [s for s in spans if s.startswith("make ") or re.fullmatch(r"[A-Z_]+=\S+", s)]
    return [s if s.startswith("make ") else f"make sweep {s}" for s in examples]


def generated_commands(text: str) -> list[str]:
    """The `make` inputs of a generated `| input | error |` table (docs/bad-inputs.md), which
    its generator, tests/end_to_end/test_bad_inputs.py, runs for real and writes."""
    tables = re.findall(r"^\| input \| error \|\n(?:\|.*\n?)*", text, flags=re.M)
    return [c for table in tables for c in re.findall(r"^\| `(make [^`]+)` \|", table, flags=re.M)]


def commands(pages: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(bad-input examples, generated inputs, every other command) printed on ``pages``,
    each once."""
    bad = {c for text in pages.values() for c in bad_input_commands(text)}
    generated = {c for text in pages.values() for c in generated_commands(text)}
    shown = {c for text in pages.values() for c in code_block_commands(text)}
    shown |= {c for text in pages.values() for c in inline_commands(text)}
    return sorted(bad), sorted(generated), sorted(shown - bad - generated)


BAD, GENERATED, GOOD = commands(TEXTS)


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


def test_pages_show_the_commands_this_file_checks():
    """The README shows the two commands; the method page, where the README's examples moved,
    shows sweep examples and bad-input examples to check."""
    _, _, readme = commands({"README.md": TEXTS["README.md"]})
    bad, _, method = commands({"docs/method.md": TEXTS["docs/method.md"]})
    assert {"make sweep", "make test"} <= set(readme)
    assert len([c for c in method if c.startswith("make sweep ")]) >= 3
    assert len(bad) >= 3
    assert set(readme) | set(method) <= set(GOOD) and set(bad) <= set(BAD)


def test_every_docs_page_is_read_and_their_commands_are_checked():
    """The commands checked come from the README and every page of docs/, not the README alone:
    the docs' sweep examples and bad-input examples are among them."""
    assert set(TEXTS) == {"README.md", *(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))}
    readme_bad, _, readme_good = commands({"README.md": TEXTS["README.md"]})
    assert set(GOOD) - set(readme_good) and set(BAD) - set(readme_bad)


def test_generated_bad_input_table_is_its_generators_own():
    """Every input of docs/bad-inputs.md's table is one its generator runs for real on this
    host and writes to that very page, and every input it runs is on the page."""
    tried = {f"make sweep {a.format(out=PLACEHOLDER)}" for a, _ in generator.SWEEP_INPUTS}
    tried |= {f"make capacity {a}" for a, _ in generator.CAPACITY_INPUTS}
    assert generator.DOC == ROOT / "docs" / "bad-inputs.md"
    assert _any_host(generated_commands(TEXTS["docs/bad-inputs.md"])) == _any_host(tried)
    assert _any_host(GENERATED) == _any_host(tried)


def _any_host(inputs) -> set[str]:
    # One more CPU than the host has: 3 where the page was generated, more on a larger host.
    return {re.sub(r"^make sweep CPUS=\d+$", "make sweep CPUS=<cores + 1>", c) for c in inputs}


def test_commands_are_read_from_paragraphs_tables_and_code_blocks():
    """A refusal paragraph gives its examples (bare assignments as `make sweep` arguments), an
    `| input | error |` table its `make` rows, and the rest of the page every other command."""
    page = (
        "Checked: bad input is one\n`error:` line (`make sweep CPUS=3`, `USERS=0`...).\n\n"
        "| command | what |\n|---|---|\n| `make sweep` | the main job |\n\n"
        "| input | error |\n|---|---|\n| `make sweep RATES=1` | error: RATES is for ... |\n"
        "| `target with PORT=1` | error: ... |\n\n```sh\nmake up  # one variant\n```\n"
    )
    assert commands({"page": page}) == (
        ["make sweep CPUS=3", "make sweep USERS=0"], ["make sweep RATES=1"],
        ["make sweep", "make up"])  # fmt: skip


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
        pytest.skip("RESUME needs an interrupted run; tests/end_to_end/test_sweep.py resumes one")
    done = run_shell(dry_run_line(command, tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("plan")


@pytest.mark.parametrize("command", GOOD)
def test_every_command_is_a_target_make_can_plan(command, tmp_path):
    """Every command the README or a docs page shows names a real target whose recipe Make
    can expand."""
    done = make(command, "-n", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "No rule to make target" not in done.stderr
