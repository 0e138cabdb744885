"""Which series a plan measures: the profile's for the demo, else every endpoint of the target
file (narrowed by VARIANTS and ENDPOINTS), each once per target Python and per combination of
the target's knobs; and the target file's [sweep] defaults under the settings given.

Imported by ``plan.config`` (the configuration is passed in, never imported back)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from loadlab.errors import ConfigError
from loadlab.plan import variants
from loadlab.plan.profiles import Profile, Series
from loadlab.plan.target import MIX, Target

if TYPE_CHECKING:
    from loadlab.plan.config import SweepConfig


def target_defaults(config: SweepConfig, target: Target) -> SweepConfig:
    """The target file's [sweep] defaults under every setting given (a given one wins),
    checked by the settings' own parsers."""
    if not target.sweep:
        return config
    try:
        defaults = type(config).from_strings(dict(target.sweep))
    except ConfigError as exc:
        raise ConfigError(f"TARGET {target.file} [sweep]: {exc}") from None
    mine = {k: getattr(defaults, k) for k, _ in target.sweep if getattr(config, k) is None}
    return replace(config, **mine)


def of_plan(config: SweepConfig, profile: Profile, target: Target) -> tuple[Series, ...]:
    """The (variant, endpoint) series: the profile's for the demo, else every endpoint of the
    target file on uvicorn, each narrowed by VARIANTS and ENDPOINTS."""
    if target.demo and config.variants is None and config.endpoints is None:
        return profile.series
    if not target.demo and any("@" in v for v in config.variants or ()):
        raise ConfigError("VARIANTS: name@3.13 runs the demo's 3.13 image; a target file's app "
                          "runs on its own image")  # fmt: skip
    mine = [e.name for e in target.endpoints]
    if target.demo:
        variants = config.variants or tuple(dict.fromkeys(v for v, _ in profile.series))
        endpoints = config.endpoints or tuple(dict.fromkeys(e for _, e in profile.series))
    else:
        variants, endpoints = config.variants or ("uvicorn",), config.endpoints or tuple(mine)
    stripped = [e.strip("/") for e in endpoints]
    for e in stripped:
        if e not in mine and e != MIX:
            raise ConfigError(f"ENDPOINTS: unknown endpoint {e!r} of {target.name} "
                              f"(known: {', '.join(mine)}, or {MIX})")  # fmt: skip
    if len(set(stripped)) != len(stripped):
        raise ConfigError(f"ENDPOINTS repeats an endpoint: {', '.join(endpoints)}")
    return tuple((v, e) for v in variants for e in stripped)


def with_knobs(series: tuple[Series, ...], target: Target) -> tuple[Series, ...]:
    """Each series once per combination of the target's knobs (a variant+NAME=value each)."""
    combos = [()]
    for name, values in target.knobs:
        combos = [(*c, (name, v)) for c in combos for v in values]
    return tuple((variants.with_knobs(v, c), e) for v, e in series for c in combos)


def on_pythons(series: tuple[Series, ...], pythons: tuple[str, ...] | None) -> tuple[Series, ...]:
    """Each series once per target Python (3.11 is the plain image, 3.13 the @3.13 one)."""
    if not pythons:
        return series
    if any("@" in v for v, _ in series):
        raise ConfigError("PYTHONS and a VARIANT@python name cannot be combined")
    return tuple((v if p == "3.11" else f"{v}@{p}", e) for p in pythons for v, e in series)
