"""The same image bytes on every engine: copied where missing or different, refused when the
copy still differs (the docker calls replaced by a table of ids)."""

from __future__ import annotations

import pytest

from loadlab.engines import images
from loadlab.errors import EngineError


@pytest.fixture
def engines(monkeypatch):
    """ids[(context, image)]; a transfer copies the driver's id unless ``broken``."""
    ids = {(None, "lab/locust"): "sha256:a"}
    copied, broken = [], set()

    def transfer(image, context):
        copied.append((image, context))
        ids[(context, image)] = "sha256:other" if context in broken else ids[(None, image)]
        return 1.0

    monkeypatch.setattr(images, "image_id", lambda c, i: ids.get((c, i)))
    monkeypatch.setattr(images, "transfer", transfer)
    return ids, copied, broken


def test_missing_or_different_images_are_copied_and_matching_ones_are_not(engines):
    ids, copied, _ = engines
    ids[("lab-c", "lab/locust")] = "sha256:a"  # already the same bytes
    ids[("lab-d", "lab/locust")] = "sha256:old"  # an older build
    found = images.place(["lab/locust"], [None, "lab-b", "lab-c", "lab-d"])
    assert copied == [("lab/locust", "lab-b"), ("lab/locust", "lab-d")]
    assert set(found["lab/locust"].values()) == {"sha256:a"}
    assert set(found["lab/locust"]) == {"current", "lab-b", "lab-c", "lab-d"}


def test_a_copy_that_still_differs_refuses_the_run(engines):
    _, _, broken = engines
    broken.add("lab-b")
    with pytest.raises(EngineError, match="would run different builds") as caught:
        images.place(["lab/locust"], ["lab-b"])
    assert "\n" not in str(caught.value)


def test_an_image_the_driver_lacks_is_one_line(engines):
    with pytest.raises(EngineError, match="not on the driver's engine: run `make images`"):
        images.place(["lab/target"], ["lab-b"])
