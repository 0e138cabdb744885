"""What the lab keeps of what an image's containers answered (stack/image_facts.py), and the
Locust version a run records through it (stack/metadata.py): asked once per image id, since an
id names the image's contents; the engine is replaced by a recorder of what was asked."""

from __future__ import annotations

import subprocess

import pytest

from loadlab.errors import ConfigError
from loadlab.stack import image_facts, images, metadata


@pytest.fixture
def asked(monkeypatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    answers = {
        "sha256:good": "locust 2.47.0 from /opt/venv/lib/python3.11/site-packages/locust",
        "loadlab/locust:latest": "locust 2.47.0",
        "sha256:bad": "Traceback (most recent call last):",
    }

    def run(*argv: str, timeout: float = 60) -> str | None:
        calls.append(argv)
        return answers.get(argv[3])

    monkeypatch.setattr(metadata, "_run", run)
    return calls


def test_an_image_id_is_asked_once_then_read_back(tmp_path, asked):
    facts = tmp_path / "build" / "image-facts.json"
    assert metadata.locust_version("sha256:good", facts) == "2.47.0"
    assert metadata.locust_version("sha256:good", facts) == "2.47.0"
    assert asked == [("docker", "run", "--rm", "sha256:good", "--version")]
    assert list(facts.parent.iterdir()) == [facts]  # no partial file left beside it


def test_without_an_id_it_is_asked_every_time_and_nothing_is_kept(tmp_path, asked):
    facts = tmp_path / "facts.json"
    assert metadata.locust_version(None, facts) == metadata.locust_version(None, facts) == "2.47.0"
    assert len(asked) == 2 and not facts.exists()


def test_an_answer_that_is_not_a_version_is_unknown_and_not_kept(tmp_path, asked):
    facts = tmp_path / "facts.json"
    assert metadata.locust_version("sha256:bad", facts) is None
    assert metadata.locust_version("sha256:bad", facts) is None
    assert len(asked) == 2 and not facts.exists()


def test_answers_are_kept_per_image_and_question(tmp_path):
    facts = tmp_path / "facts.json"
    image_facts.remember("sha256:a", "imports uvicorn", "yes", facts)
    image_facts.remember("sha256:a", "locust --version", "2.47.0", facts)
    image_facts.remember("sha256:b", "imports uvicorn", "no", facts)
    assert image_facts.known("sha256:a", "imports uvicorn", facts) == "yes"
    assert image_facts.known("sha256:a", "locust --version", facts) == "2.47.0"
    assert image_facts.known("sha256:b", "imports uvicorn", facts) == "no"
    assert image_facts.known("sha256:b", "locust --version", facts) is None
    assert image_facts.known("sha256:c", "imports uvicorn", facts) is None
    assert image_facts.known(None, "imports uvicorn", facts) is None


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"sha256:a": "yes"}'])
def test_a_damaged_file_is_as_if_empty_and_is_rewritten(tmp_path, text):
    facts = tmp_path / "facts.json"
    facts.write_text(text)
    assert image_facts.known("sha256:a", "imports uvicorn", facts) is None
    image_facts.remember("sha256:a", "imports uvicorn", "yes", facts)
    assert image_facts.known("sha256:a", "imports uvicorn", facts) == "yes"


def test_an_image_found_to_hold_a_servers_modules_is_not_asked_again(tmp_path, monkeypatch):
    """check_needs: a container per variant's needs the first time; none for needs already
    found in that image id; a failure is never kept, so it is asked (and refused) again."""
    monkeypatch.setattr(image_facts, "FILE", tmp_path / "facts.json")
    monkeypatch.setattr(images, "image_id", lambda image: f"sha256:{image}")
    runs: list[str] = []

    def run(argv, **kwargs):
        runs.append(f"{argv[7]} {' '.join(argv[11:])}")
        return subprocess.CompletedProcess(argv, int(argv[7] == "bare"), "", "error: no gunicorn")

    monkeypatch.setattr(images.subprocess, "run", run)
    images.check_needs("app", ["uvicorn", "gunicorn"])
    images.check_needs("app", ["uvicorn", "uvicorn-workers", "gunicorn"])
    assert runs == ["app uvicorn", "app uvicorn gunicorn uvicorn_worker"]
    for _ in range(2):
        with pytest.raises(ConfigError, match="bare cannot run the uvicorn variant"):
            images.check_needs("bare", ["uvicorn"])
    assert runs[2:] == ["bare uvicorn", "bare uvicorn"]
