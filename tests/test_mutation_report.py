"""scripts/mutation.py (make mutation) reads mutmut's files and counts as it says: per module,
unreached mutants against the score, every mutant not killed listed with its diff.

Engine-free and mutmut-free: it reads the recorded meta files of tests/fixtures/mutants/.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mutants"
# scripts/ is no package: the script is loaded from its file (and registered, as dataclasses need).
SPEC = importlib.util.spec_from_file_location("scripts_mutation", ROOT / "scripts" / "mutation.py")
mutation = sys.modules.setdefault(SPEC.name, importlib.util.module_from_spec(SPEC))
SPEC.loader.exec_module(mutation)

CHOSEN = ["loadlab.measure.status.*", "loadlab.judge.significance.*"]


def fake_diff(m) -> str:
    return f"-original of {m.name}\n+mutant of {m.name}"


def test_modules_become_mutmuts_name_patterns():
    """A module and a package, with or without src/loadlab/, become mutmut's mutant patterns."""
    got = mutation.module_globs("measure/status.py, src/loadlab/judge/")
    assert got == ["loadlab.measure.status.*", "loadlab.judge.*"]


def test_no_modules_means_the_three_packages():
    """An empty MODULES chooses measure, judge and search whole."""
    assert mutation.module_globs("") == ["loadlab.measure.*", "loadlab.judge.*", "loadlab.search.*"]


@pytest.mark.parametrize("word", ["plan/config.py", "measure/nope.py", "measure/../plan"])
def test_a_module_outside_the_three_packages_is_refused(word):
    """A module that is not one of measure/, judge/, search/'s is a usage error, naming it."""
    with pytest.raises(mutation.UsageError) as refused:
        mutation.module_globs(word)
    assert str(refused.value) == f"--modules: {word!r} is not a module of measure, judge, search"


def test_a_bad_modules_option_exits_2_before_mutmut_runs(capsys):
    """A bad --modules stops the script with exit 2 and one error line, nothing run."""
    assert mutation.main(["run", "--modules", "stack/compose.py"]) == 2
    assert capsys.readouterr().err.startswith("error: --modules: 'stack/compose.py'")


@pytest.mark.parametrize(
    ("code", "status"),
    [(1, "killed"), (3, "killed"), (0, "survived"), (33, "no tests"), (-24, "timeout"),
     (None, "not checked"), (35, "suspicious"), (99, "suspicious")],
)  # fmt: skip
def test_exit_codes_map_to_mutmuts_statuses(code, status):
    """Each exit code gets the status mutmut 3.8.1 gives it; an unknown one is suspicious."""
    assert mutation.status_of(code) == status


def test_mutant_names_give_their_function():
    """A method's mutant names Class.method, a function's its name, underscores kept."""
    status = "loadlab.measure.status."
    assert mutation.function_of(status + "xǁAssessmentǁadd__mutmut_5") == "Assessment.add"
    assert mutation.function_of(status + "x__failures__mutmut_3") == "_failures"


def test_only_the_chosen_modules_are_read_in_mutmuts_order():
    """Mutants of modules not chosen are left out; a function's come in number order."""
    found = mutation.read_mutants(FIXTURE, CHOSEN)
    assert {m.module for m in found} == {"measure/status.py", "judge/significance.py"}
    backlog = [m.name.rpartition("_")[2] for m in found if m.function == "backlog"]
    assert backlog == ["2", "4", "10"]


def test_score_counts_unreached_and_unchecked_mutants_against_it():
    """Killed and timed-out mutants count for the score; no tests, survived and other against."""
    by_module, total = mutation.tally(mutation.read_mutants(FIXTURE, CHOSEN))
    status = by_module["measure/status.py"]
    assert status.mutants == 6 and status.counts == {
        "killed": 2, "timeout": 1, "survived": 1, "no tests": 1, "other": 1,
    }  # fmt: skip
    assert status.score == 0.5
    assert by_module["judge/significance.py"].score == 0.75
    assert (total.mutants, total.detected, total.score) == (10, 6, 0.6)


def test_score_md_has_a_row_per_module_the_total_and_the_goal():
    """score.md's table has each module, then the total, and names the 90 % goal."""
    by_module, total = mutation.tally(mutation.read_mutants(FIXTURE, CHOSEN))
    text = mutation.score_md(by_module, total, "2026-12-01")
    assert "goal 90.0 %" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [
        "| judge/significance.py | 4 | 3 | 0 | 0 | 0 | 1 | 75.0 % |",
        "| measure/status.py | 6 | 2 | 1 | 1 | 1 | 1 | 50.0 % |",
        "| **total** | 10 | 5 | 1 | 1 | 1 | 2 | 60.0 % |",
    ]


def test_score_json_holds_the_same_counts():
    """score.json carries the goal, each module's counts and score, and the total."""
    by_module, total = mutation.tally(mutation.read_mutants(FIXTURE, CHOSEN))
    doc = json.loads(mutation.score_json(by_module, total, "2026-12-01"))
    assert doc["goal"] == 0.9 and doc["date"] == "2026-12-01"
    assert doc["modules"]["measure/status.py"]["no tests"] == 1
    assert doc["total"] == {"mutants": 10, "killed": 5, "timeout": 1, "survived": 1,
                            "no tests": 1, "other": 2, "score": 0.6}  # fmt: skip


def test_survivors_md_lists_every_mutant_not_killed_with_its_diff_and_line():
    """Each mutant not killed (survived, no tests, suspicious, not checked) is listed with its
    function's line in src/ and its diff; killed and timed-out ones are not."""
    found = mutation.read_mutants(FIXTURE, CHOSEN)
    text = mutation.survivors_md(found, fake_diff, ROOT)
    left = [m for m in found if m.status not in ("killed", "timeout")]
    assert text.startswith(f"# Mutants not killed: {len(left)}\n") and len(left) == 4
    for m in found:
        assert (f"+mutant of {m.name}" in text) == (m in left)
    named = "`loadlab.measure.status.x_backlog__mutmut_4` (src/loadlab/measure/status.py:"
    line = int(text.split(named)[1].split(")")[0])
    source = (ROOT / "src/loadlab/measure/status.py").read_text().splitlines()
    assert source[line - 1].startswith("def backlog(")


def test_a_days_report_folder_is_never_overwritten(tmp_path):
    """A second report on the same day goes to mutation-<date>-2, the first left alone."""
    first = mutation.report_dir(tmp_path, "2026-12-01")
    assert first.name == "mutation-2026-12-01"
    first.mkdir()
    assert mutation.report_dir(tmp_path, "2026-12-01").name == "mutation-2026-12-01-2"


def test_write_report_writes_the_three_files(tmp_path, monkeypatch):
    """The report folder gets score.md, score.json and survivors.md from mutants/."""
    monkeypatch.setattr(mutation, "MUTANTS", FIXTURE.relative_to(ROOT).as_posix())
    total = mutation.write_report(CHOSEN, tmp_path / "out", "2026-12-01", fake_diff)
    assert total.mutants == 10
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "score.json", "score.md", "survivors.md",
    ]  # fmt: skip


def test_mutmut_config_mutates_the_three_packages_with_engine_free_tests():
    """[tool.mutmut] mutates exactly the script's packages, deselects the engine and browser
    tests, and every test path and copied file it names exists."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert config["only_mutate"] == [f"src/loadlab/{p}/*" for p in mutation.PACKAGES]
    args = config["pytest_add_cli_args"]
    assert args[args.index("-m") + 1] == "not docker and not chromium"
    for path in [*config["pytest_add_cli_args_test_selection"], *config["also_copy"]]:
        assert (ROOT / path).exists(), path
