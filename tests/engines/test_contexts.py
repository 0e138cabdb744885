"""Which engine runs what, checked from the settings alone (no engine asked)."""

from __future__ import annotations

import pytest

from loadlab.engines.contexts import Engines, resolve
from loadlab.errors import ConfigError
from loadlab.plan.config import SweepConfig
from loadlab.plan.config import resolve as plan


def test_unset_is_the_current_engine_as_always():
    engines = resolve(None, None, None, None)
    assert engines == Engines() and engines.default and not engines.split
    assert engines.target_address == "127.0.0.1"


def test_load_on_another_engine_needs_the_targets_address():
    with pytest.raises(ConfigError, match=r"^TARGET_ADDRESS: the target runs on current"):
        resolve(None, ("engine2",), None, None)
    engines = resolve(None, ("engine2",), "198.18.0.1", None)
    assert engines.split and engines.master == "engine2" and engines.named() == (None, "engine2")


def test_workers_on_several_engines_need_the_masters_address():
    with pytest.raises(ConfigError, match=r"^MASTER_ADDRESS: Locust's workers on default"):
        resolve(None, ("engine2", "default"), "198.18.0.1", None)
    engines = resolve(None, ("engine2", "default"), "198.18.0.1", "198.18.0.2")
    assert engines.load == ("engine2", "default") and engines.master_address == "198.18.0.2"


def test_the_target_on_another_engine_needs_its_address_for_the_driver_too():
    with pytest.raises(ConfigError, match="TARGET_ADDRESS"):
        resolve("engine2", None, None, None)
    engines = resolve("engine2", None, "198.18.0.2", None)
    assert engines.load == ("engine2",) and not engines.split  # Locust beside the target


@pytest.mark.parametrize(("args", "named"), [
    (("x", None, "1.2.3.4", None), "not a Docker context name"),
    ((None, ("a b",), "1.2.3.4", None), "not a Docker context name"),
    ((None, ("e2", "e2"), "1.2.3.4", "1.2.3.5"), "names an engine twice"),
    ((None, ("e2",), "localhost", None), "TARGET_ADDRESS must be an IP address"),
    ((None, ("e2",), "0.0.0.0", None), "not every one"),
    ((None, ("e2", "e3"), "1.2.3.4", "224.0.0.1"), "MASTER_ADDRESS"),
])  # fmt: skip
def test_bad_settings_are_one_line(args, named):
    with pytest.raises(ConfigError, match=named) as caught:
        resolve(*args)
    assert "\n" not in str(caught.value)


def test_the_plan_counts_workers_on_every_load_engine():
    """LOCUST_WORKERS is per engine: two engines with one each are two workers in all."""
    given = {"profile": "smoke", "load_contexts": "engine2,default", "locust_workers": "1",
             "target_address": "198.18.0.1", "master_address": "198.18.0.2"}  # fmt: skip
    found = plan(SweepConfig.from_strings(given), cores=[0, 1])
    assert found.locust_workers == 2 and found.engines.load == ("engine2", "default")
