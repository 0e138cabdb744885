"""The README and docs/ hold to what the code says: paths, names, links, tables and sizes.

Engine-free: nothing here starts a container; `make help` is the only command run.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from loadlab import results
from loadlab.plan.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
PACKAGE = ROOT / "src" / "loadlab"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
MAX_README_BYTES = 10_000
# Folders of the repository a path in the prose may start with.
TOP = (
    "src",
    "tests",
    "services",
    "loadtests",
    "scripts",
    "docs",
    "baseline",
    ".github",
    "examples",
)
GLOSSARY = (
    "point", "series", "step", "window", "plan", "profile", "variant", "group", "run",
    "repeat", "level", "placement", "status", "change", "verdict", "yardstick", "model",
    "harness-bound", "unsteady", "failing", "failed", "the store", "fingerprint", "target", "probe",
    "knob",
)  # fmt: skip
MAKE_STATE = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")
COLUMNS_HEADER = "| column | meaning |"


def text_of(page: Path) -> str:
    return page.read_text()


def spans(text: str) -> list[str]:
    """Every inline code span and every line of a fenced block, as written."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.findall(r"`([^`\n]+)`", prose) + [ln for b in blocks for ln in b.splitlines()]


def repo_paths(text: str) -> set[str]:
    """Paths into the repository that a page names, from its root or, for a subpackage's
    module (`plan/config.py`), from src/loadlab (placeholders such as <run-id> left out)."""
    found = set()
    for span in spans(text):
        for word in re.findall(r"[\w./@<>*-]+", span):
            first = word.split("/")[0]
            if "/" not in word or re.search(r"[<>*]", word):
                continue
            if first in TOP:
                found.add(word.rstrip(".,:;"))
            elif first in SUBPACKAGES:
                found.add("src/loadlab/" + word.rstrip(".,:;"))
    return found


def file_names(text: str) -> set[str]:
    """Bare module and script names a page names in code spans (`steady.py`, `engine.sh`)."""
    names = set()
    for span in spans(text):
        names |= {w for w in re.findall(r"[\w.-]+\.(?:py|sh)\b", span) if "/" not in w}
    return names


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each row of the table whose header line starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    words = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return words.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text_of(page), flags=re.M)}


def links(text: str) -> list[str]:
    """Relative link targets of a page (web links left out)."""
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]


def make_help() -> list[str]:
    """The targets `make help` lists, in its order."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_STATE}
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def test_readme_is_short():
    """The README stays a five-minute read: at most 10 kB."""
    assert len(README.read_bytes()) <= MAX_README_BYTES


def test_readme_command_table_lists_every_make_target():
    """The README's command table has one row per target of `make help`, and no other."""
    rows = table_rows(text_of(README), "| command |")
    shown = [re.match(r"`make ([\w-]+)", row[0]).group(1) for row in rows]
    assert sorted(shown) == sorted(make_help())
    assert len(shown) == len(set(shown))


def test_readme_links_every_docs_page_and_shows_the_report():
    """Every page of docs/ is linked from the README, and the report picture is there."""
    linked = {t.split("#")[0] for t in links(text_of(README))}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked
    assert "docs/report.png" in linked and (DOCS / "report.png").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_reach_a_file_and_its_heading(page):
    """Each relative link of a page names a file that exists and, with #, one of its headings."""
    for target in links(text_of(page)):
        path, _, anchor = target.partition("#")
        found = (page.parent / path).resolve() if path else page
        assert found.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in anchors(found), f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_paths_in_the_prose_exist(page):
    """Every repository path a page names exists: no module or test folder left at its old
    place (loadlab/stack.py, tests/lab/...)."""
    missing = sorted(p for p in repo_paths(text_of(page)) if not (ROOT / p).exists())
    assert missing == [], f"{page.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_file_names_in_the_prose_exist(page):
    """Every bare module or script name a page gives (`steady.py`) is a file of the repository,
    so an old flat module name (quality.py, runs.py, nightly.py...) cannot linger."""
    here = {p.name for top in TOP if (ROOT / top).is_dir() for p in (ROOT / top).rglob("*")}
    missing = sorted(n for n in file_names(text_of(page)) if n not in here)
    assert missing == [], f"{page.name} names files that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_dotted_names_in_the_prose_resolve(page):
    """Every `loadlab.x.y` a page names is a module, or an attribute of one, that exists."""
    for span in spans(text_of(page)):
        for name in re.findall(r"(?<![\w./])loadlab(?:\.\w+)+", span):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    found = importlib.import_module(".".join(parts[:cut]))
                    break
                except ModuleNotFoundError:
                    continue
            for attribute in parts[cut:]:
                found = getattr(found, attribute)  # AttributeError names what is stale


def columns_table() -> str:
    """docs/output.md's summary.csv table as the code defines the columns."""
    rows = [f"| `{c.name}` | {c.doc.replace('|', '/')} |" for c in results.COLUMNS]
    return "\n".join([COLUMNS_HEADER, "| --- | --- |", *rows])


def test_summary_columns_table_matches_the_code():
    """docs/output.md's summary.csv table lists the columns the code writes, in order, each
    with the meaning the code gives it (`UPDATE_DOCS=1` rewrites the table)."""
    page = DOCS / "output.md"
    if os.environ.get("UPDATE_DOCS") == "1":
        before, table, after = table_in(text_of(page))
        page.write_text(before + columns_table() + after)
    _, table, _ = table_in(text_of(page))
    assert [row[0].strip("`") for row in table_rows(table, COLUMNS_HEADER)] == list(
        results.SUMMARY_COLUMNS
    )
    assert table == columns_table(), "docs/output.md is stale: rerun with UPDATE_DOCS=1"


def table_in(text: str) -> tuple[str, str, str]:
    """(before, the columns table, after) of docs/output.md."""
    start = text.index(COLUMNS_HEADER)
    end = text.index("\n\n", start)
    return text[:start], text[start:end], text[end:]


def test_method_profile_table_names_every_profile():
    """docs/method.md's profile table has one row per profile the code defines, in order."""
    rows = table_rows(text_of(DOCS / "method.md"), "| profile |")
    assert [row[0].strip("`") for row in rows] == list(PROFILES)


def test_architecture_draws_the_flow_and_names_every_room():
    """docs/architecture.md draws the flow in order, names every subpackage and module, and
    defines every glossary word."""
    text = text_of(DOCS / "architecture.md")
    [flow] = re.findall(r"^## The flow\n.*?^```\n(.*?)^```", text, flags=re.M | re.S)
    stages = ["configuration", "plan", "stack", "measure", "results on disk", "judge/"]
    at = [re.search(rf"^ *{re.escape(stage)}", flow, flags=re.M).start() for stage in stages]
    assert at == sorted(at) and flow.index("report/") > at[-1]
    for sub in SUBPACKAGES:
        assert f"`{sub}/`" in text
        for module in sorted((PACKAGE / sub).glob("[!_]*.py")):
            assert f"`{module.name}`" in text, f"{sub}/{module.name} is not on the map"
    glossary = text.split("## Glossary", 1)[1]
    defined = re.findall(r"^- \*\*(.+?)\*\*", glossary, flags=re.M)
    words = {w.strip() for d in defined for w in d.split(",")}
    assert set(GLOSSARY) <= words


def test_generated_pages_name_their_generator():
    """A generated page says which test or module writes it, and that file exists."""
    for page, generator in (("bad-inputs.md", "tests/end_to_end/test_bad_inputs.py"),):
        assert f"`{generator}`" in text_of(DOCS / page).split("\n\n")[1]
        assert (ROOT / generator).is_file()
