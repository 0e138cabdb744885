"""The plan as Kubernetes manifests (stack/kubernetes.py), engine- and cluster-free.

Each Deployment, Service and ConfigMap is read back through the Kubernetes API's own models
(the `kubernetes` client: a missing required field raises, an unknown one is dropped, so the
round trip must give the manifest back unchanged); each LocustTest is validated against the
rules of Locust's operator's CRD (LOCUST_TEST below) with Kubernetes' strict field validation.
What the manifests say is held to the plan and to Compose: every point's CPU limit, the
environment the lab's own Stack gives the same container (compose.yaml rendered by Compose's
`config` through the real Stack, a `docker` shim on PATH standing in for the CLI), the same
Locust run, and no pinning claimed for a fractional CPU limit.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path

import compose
import jsonschema
import pytest
import yaml
from kubernetes.client import ApiClient

from loadlab import sweep as sweep_module
from loadlab.errors import ConfigError
from loadlab.plan.config import SweepConfig, resolve
from loadlab.plan.matrix import groups, points
from loadlab.plan.placement import place
from loadlab.plan.variants import service_of
from loadlab.shared import offered
from loadlab.stack import images, kubernetes, verify
from loadlab.stack.compose import LOCUST, ROOT, Stack
from loadlab.sweep import Sweep

CORES = list(range(8))
MODELS = {"Deployment": "V1Deployment", "Service": "V1Service", "ConfigMap": "V1ConfigMap"}
CLIENT = ApiClient()
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# Kubernetes' resource.Quantity, as every CRD generated from corev1 writes it.
QUANTITY = re.compile(r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                      r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")  # fmt: skip
# The rules of the LocustTest v1 schema of Locust's operator, written out from its CRD,
# https://github.com/locustio/k8s-operator/blob/b64cc066cbbee2fb5f154618854e5e7ad4802a2f/charts/locust-operator/crds/locusttest.yaml
# (Helm chart 0.1.9): every field it defines, its types, bounds, required lists and oneOf.
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITIES = {"type": "object", "additionalProperties": {"type": ["integer", "string"]}}
POD = {
    "type": "object",
    "properties": {
        "labels": STRINGS,
        "annotations": STRINGS,
        "resources": {
            "type": "object",
            "properties": {"requests": QUANTITIES, "limits": QUANTITIES},
        },
    },
}
NAMED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
LOCUST_TEST = {"type": "object", "properties": {
    "apiVersion": {"const": "locust.io/v1"}, "kind": {"const": "LocustTest"},
    "metadata": {"type": "object"},
    "spec": {"type": "object", "required": ["workers"], "properties": {
        "annotations": STRINGS, "labels": STRINGS, "image": {"type": "string"},
        "imagePullPolicy": {"type": "string", "enum": ["IfNotPresent", "Always", "Never"]},
        "imagePullSecrets": {"type": "array", "items": NAMED},
        "workers": {"type": "integer", "minimum": 1},
        "args": {"type": "string"},
        "env": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "value": {"type": "string"}}}},
        "master": POD, "worker": POD,
        "locustfile": {"type": "object",
                       "properties": {"content": {"type": "string"}, "configMap": NAMED},
                       "oneOf": [{"required": ["content"]}, {"required": ["configMap"]}]},
        "metrics": {"type": "object", "properties": {"intervalSeconds": {"type": "integer"}}}}},
    "status": {"type": "object"}}}  # fmt: skip
# A user's target: a body and an [env] value with $(...) in them, which Kubernetes would expand.
USER_TARGET = """name = "shop"
image = "shop:1"
app = "shop.main:app"
health = "/ready"
[[endpoints]]
name = "order"
path = "/orders"
method = "POST"
body = '{"note": "$(HOME) costs $5"}'
expect_status = 201
[[endpoints]]
name = "list"
path = "/orders?limit=5"
[env]
GREETING = "a$(USER)b"
[knobs]
POOL = ["5", "30"]
"""


def plan_of(tmp_path: Path, **raw: str):
    return resolve(SweepConfig.from_strings({"out": str(tmp_path / "reports"), **raw}), CORES)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """Plans that between them hold every kind of point: the demo's default (0.5 and 1 CPU),
    the open loop, the cpu profile (0.25 to 2 CPUs), Python 3.13, a user's target with knobs,
    a mix and $ in its values, and the PostgreSQL example (its own Compose file)."""
    where = tmp_path_factory.mktemp("plans")
    (where / "shop").mkdir()
    (where / "shop" / "target.toml").write_text(USER_TARGET)
    found = {
        "default": plan_of(where),
        "open": plan_of(where, profile="open"),
        "cpu": plan_of(where, profile="cpu"),
        "cpucount": plan_of(where, profile="cpucount"),
        "shop": plan_of(
            where,
            target=str(where / "shop"),
            endpoints="order,mix",
            cpus="0.25,2",
            users="5,50",
            repeats="2",
        ),
        "postgres": plan_of(where, target=str(ROOT / "examples" / "postgres-pool")),
    }
    return {name: (plan, kubernetes.files(plan)) for name, plan in found.items()}


PLANS = ("default", "open", "cpu", "cpucount", "shop", "postgres")


def objects(files, kind: str | None = None) -> list[dict]:
    return [o for _, found, _ in files for o in found if kind in (None, o["kind"])]


def round_trip(obj: dict, model: str) -> None:
    """Through the client's model and back: required fields present and typed (the models
    raise), none unknown (they are dropped, so the round trip would differ)."""
    built = CLIENT._ApiClient__deserialize(copy.deepcopy(obj), model)
    assert CLIENT.sanitize_for_serialization(built) == obj, model


def strict(schema):
    """The schema as the API server applies it with strict field validation: an object that
    lists its properties takes no other."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    return [strict(v) for v in schema] if isinstance(schema, list) else schema


VALIDATOR = jsonschema.Draft202012Validator(strict(LOCUST_TEST))


def quantity(text: str) -> float:
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def env_of(entries: list[dict]) -> dict[str, str]:
    """A container's variables as the process sees them ($$ is Kubernetes' escaped $)."""
    return {e["name"]: e["value"].replace("$$", "$") for e in entries}


# --- The Kubernetes API's own schema -------------------------------------------------------


@pytest.mark.parametrize("name", PLANS)
def test_deployments_services_and_config_maps_are_valid_api_objects(plans, name):
    """Every Deployment, Service and ConfigMap reads back unchanged through the API's models;
    names are DNS labels (a Service's one starting with a letter), label values valid."""
    _, files = plans[name]
    for obj in objects(files):
        if obj["kind"] == "LocustTest":
            continue
        round_trip(obj, MODELS[obj["kind"]])
        assert DNS_LABEL.fullmatch(obj["metadata"]["name"]) and len(obj["metadata"]["name"]) <= 63
        assert obj["kind"] != "Service" or obj["metadata"]["name"][0].isalpha()
        assert all(LABEL_VALUE.fullmatch(v) for v in obj["metadata"]["labels"].values())


def test_the_round_trip_catches_what_the_api_would_refuse(plans):
    """Not vacuous: an unknown field and a missing required one both fail it."""
    deployment = objects(plans["default"][1], "Deployment")[0]
    typo = copy.deepcopy(deployment)
    typo["spec"]["replica"] = 2
    with pytest.raises(AssertionError):
        round_trip(typo, "V1Deployment")
    nameless = copy.deepcopy(deployment)
    del nameless["spec"]["template"]["spec"]["containers"][0]["name"]
    with pytest.raises(ValueError):
        round_trip(nameless, "V1Deployment")


# --- The Locust operator's CRD --------------------------------------------------------------


@pytest.mark.parametrize("name", PLANS)
def test_locust_tests_are_valid_against_the_operators_crd(plans, name):
    """Each LocustTest is valid against the operator's schema (strict); its metadata, every
    variable and both pods' resources read back through the API's models; its name leaves
    room for the operator's <name>-master and <name>-worker; its arguments split as the
    operator splits them (shlex) into the locustfile it mounts and the user class."""
    _, files = plans[name]
    maps = {m["metadata"]["name"] for m in objects(files, "ConfigMap")}
    tests = objects(files, "LocustTest")
    assert tests
    for test in tests:
        VALIDATOR.validate(test)
        spec, name_ = test["spec"], test["metadata"]["name"]
        round_trip(test["metadata"], "V1ObjectMeta")
        for variable in spec["env"]:
            round_trip(variable, "V1EnvVar")
        for side in ("master", "worker"):
            round_trip(spec[side]["resources"], "V1ResourceRequirements")
        assert DNS_LABEL.fullmatch(name_) and len(name_ + "-worker") <= 63
        args = shlex.split(spec["args"])
        assert args[:2] == ["--locustfile", f"{kubernetes.MOUNT}/locustfile.py"]
        assert args[2] in ("Target", "OpenLoop") and len(args) == 3
        assert spec["locustfile"]["configMap"]["name"] in maps


def test_the_crd_rules_refuse_what_the_operator_would(plans):
    """Not vacuous: an unknown field (`spec.replicas`), no `workers`, 0 workers, and a
    locustfile given both inline and as a ConfigMap are each refused."""
    test = objects(plans["default"][1], "LocustTest")[0]
    changes = (lambda s: s.update(replicas=2), lambda s: s.pop("workers"),
               lambda s: s.update(workers=0),
               lambda s: s["locustfile"].update(content="x"))  # fmt: skip
    for change in changes:
        broken = copy.deepcopy(test)
        change(broken["spec"])
        with pytest.raises(jsonschema.ValidationError):
            VALIDATOR.validate(broken)


# --- CPU limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLANS)
def test_every_point_runs_under_its_cpu_limit_guaranteed(plans, name):
    """Every point's Locust run targets the Service of a Deployment whose CPU limit is the
    point's CPUs, requests equal to limits (CPU and memory: the Guaranteed class); every point
    of the plan is in one LocustTest, its levels in order."""
    plan, files = plans[name]
    deployments = {d["metadata"]["name"]: d for d in objects(files, "Deployment")}
    runs = {
        t["metadata"]["annotations"]["loadlab/run-key"]: t for t in objects(files, "LocustTest")
    }
    expected = {key: list(run) for key, run in groupby(points(plan), key=lambda p: p.run_key)}
    assert set(runs) == set(expected)
    for key, members in expected.items():
        notes = runs[key]["metadata"]["annotations"]
        assert notes["loadlab/levels"] == ",".join(f"{p.level:g}" for p in members)
        [container] = deployments[notes["loadlab/target"]]["spec"]["template"]["spec"]["containers"]
        resources = container["resources"]
        assert resources["requests"] == resources["limits"]
        assert {"cpu", "memory"} <= set(resources["limits"])
        assert all(QUANTITY.fullmatch(v) for v in resources["limits"].values())
        assert all(quantity(resources["limits"]["cpu"]) == p.cpus for p in members)
        target = deployments[notes["loadlab/target"]]["metadata"]["annotations"]
        assert target["loadlab/variant"] == members[0].variant
    assert len(deployments) == len(groups(points(plan)))


def test_a_fractional_limit_claims_no_pinned_cpus(plans):
    """The static CPU manager pins whole CPUs only: a fractional limit says it is not pinned
    and that the lab's cpuset is not reproduced; a whole one says it gets exclusive CPUs."""
    _, files = plans["cpu"]
    seen = set()
    for path, found, notes in files:
        for deployment in (o for o in found if o["kind"] == "Deployment"):
            cpus = float(deployment["metadata"]["annotations"]["loadlab/cpus"])
            note = deployment["metadata"]["annotations"]["loadlab/cpu-placement"]
            assert notes == [note], path
            if cpus.is_integer():
                assert f"{cpus:g} exclusive CPU" in note and "not pinned" not in note
            else:
                assert "not pinned" in note and "not reproduced" in note
                assert "exclusive" not in note
            seen.add(cpus.is_integer())
    assert seen == {True, False}


def test_cpu_quantities():
    """Whole CPUs as integers, fractions as millicores; finer than a millicore is refused."""
    assert [kubernetes.cpu_quantity(c) for c in (0.25, 0.5, 1, 1.5, 2, 0.01)] == [
        "250m", "500m", "1", "1500m", "2", "10m"]  # fmt: skip
    with pytest.raises(ConfigError, match="whole millicores"):
        kubernetes.cpu_quantity(0.3333)


# --- The same environment as Compose gives -------------------------------------------------


@dataclass(frozen=True)
class Recording(Stack):
    """The lab's Stack with the engine left out: `config` runs (through the docker shim), every
    other compose call is recorded with the environment it was handed."""

    calls: list = field(default_factory=list)

    def compose(self, *args, env=None, timeout=300, check=True):
        if args[0] == "config":
            return super().compose(*args, env=env or {}, timeout=timeout, check=check)
        self.calls.append((args, dict(env or {})))
        return subprocess.CompletedProcess(args, 0, "", "")

    def _until_ready(self, variant, health, timeout):
        pass  # no engine: nothing was started to wait for


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """`docker compose ARGS` as the venv's Compose binary (only `config` reaches it)."""
    shim = tmp_path / "bin" / "docker"
    shim.parent.mkdir()
    binary = Path(compose.__file__).parent / "docker-compose"
    shim.write_text(f'#!/bin/sh\n[ "$1" = compose ] || exit 2\nshift\nexec "{binary}" "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(sweep_module, "place", lambda cpus: place(cpus, CORES))

    def rendered(plan, env):
        """compose.yaml through the lab's Stack; each service's environment as the process
        gets it (`config` writes every $ of a value as $$, so the output stays Compose)."""
        stack = Recording(extra_files=(plan.target.compose,) if plan.target.compose else ())
        found = json.loads(stack.compose("config", "--format", "json", env=env).stdout)
        for service in found["services"].values():
            environment = service.get("environment", {})
            service["environment"] = {k: v.replace("$$", "$") for k, v in environment.items()}
        return found

    return rendered


def prepared_of(plan, monkeypatch) -> images.Prepared:
    """What ``images.prepare`` makes ready, its engine calls stood in for: the probed image."""
    done = subprocess.CompletedProcess([], 0, "", "")
    monkeypatch.setattr(images, "_exists", lambda image: True)
    monkeypatch.setattr(images, "_run", lambda *a, **k: done)
    monkeypatch.setattr(images, "_build", lambda target: f"{target.name}:built")
    monkeypatch.setattr(images, "check_needs", lambda image, variants: None)
    monkeypatch.setattr(images, "image_id", lambda image: "sha256:0")
    return images.prepare(plan.target, (v for v, _ in plan.series))


@pytest.mark.parametrize("name", PLANS)
def test_the_target_gets_what_compose_gives_the_same_variant(plans, lab, name, monkeypatch):
    """Each Deployment's image and environment are what the lab's Stack has Compose give the
    same variant (``Stack.up`` with ``verify.container_env``), $ escaped for Kubernetes."""
    plan, files = plans[name]
    prepared = prepared_of(plan, monkeypatch)
    for deployment in objects(files, "Deployment"):
        variant = deployment["metadata"]["annotations"]["loadlab/variant"]
        cpus = float(deployment["metadata"]["annotations"]["loadlab/cpus"])
        stack = Recording()
        stack.up(variant, verify.container_env(plan, prepared, variant, place(cpus, CORES)))
        [(_, env)] = stack.calls
        service = lab(plan, env)["services"][service_of(variant)]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert env_of(container["env"]) == service["environment"]
        assert container["image"] == service["image"]
        assert container["readinessProbe"]["httpGet"]["path"] == plan.target.health
        raw = [e["value"] for e in container["env"]]
        assert not any(re.search(r"(?<!\$)\$\(", v) for v in raw)  # nothing left to expand


@pytest.mark.parametrize("name", PLANS)
def test_locust_gets_the_run_and_the_variables_compose_gives(plans, lab, name, tmp_path):
    """Each LocustTest is the lab's own Locust run (``Sweep._run_spec``): its variables are
    what ``Stack.run_locust`` has Compose give master and workers (the host being the target's
    Service), less what the operator's own arguments set, with PYTHONPATH where the Locust image
    holds loadlab.shared; workers as the plan says; the locustfile the ConfigMap's."""
    plan, files = plans[name]
    [locustfile] = objects(files, "ConfigMap")
    assert locustfile["data"] == {"locustfile.py": kubernetes.LOCUSTFILE.read_text()}
    dockerfile = (ROOT / "loadtests" / "Dockerfile").read_text()
    for test in objects(files, "LocustTest"):
        notes, spec = test["metadata"]["annotations"], test["spec"]
        run = [p for p in points(plan) if p.run_key == notes["loadlab/run-key"]]
        steps = tuple(offered.Step(p.level, plan.step_seconds) for p in run)
        spec_run = Sweep(plan, None, None, None)._run_spec(run[0], tmp_path / "out", steps)
        assert kubernetes.locust_run(plan, run) == replace(spec_run, out=Path("/out"), cpuset="")
        stack = Recording()
        assert stack.run_locust(spec_run, timeout=10) == 0
        [env] = [e for args, e in stack.calls if args[0] == "up" and LOCUST[0] in args]
        services = lab(plan, {**env, "TARGET_SERVICE": notes["loadlab/target"]})["services"]
        master, worker = (services[s]["environment"] for s in LOCUST)
        given = {**worker, **master}
        expected = {k: v for k, v in given.items() if k not in kubernetes.OPERATOR_SETS}
        variables = env_of(spec["env"])
        assert variables == {**expected, "PYTHONPATH": kubernetes.IMAGE_SHARED}
        assert variables["LOCUST_HOST"] == f"http://{notes['loadlab/target']}:8000"
        assert spec["workers"] == plan.locust_workers  # and the master waits for as many:
        assert variables["LOCUST_EXPECT_WORKERS"] == str(plan.locust_workers)
        assert f"COPY src/loadlab/shared/ {kubernetes.IMAGE_SHARED}/loadlab/shared/" in dockerfile
        assert shlex.split(spec["args"])[-1] == spec_run.locust_class
        assert spec["image"] == services[LOCUST[0]]["image"]


def test_dollar_signs_reach_the_process_unexpanded(plans):
    """A body and an [env] value holding $(...) are escaped ($$), so Kubernetes leaves them."""
    _, files = plans["shop"]
    deployment = objects(files, "Deployment")[0]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert {"name": "GREETING", "value": "a$$(USER)b"} in container["env"]
    test = objects(files, "LocustTest")[0]
    assert (
        "$$(HOME) costs $$5" in {e["name"]: e["value"] for e in test["spec"]["env"]}["LAB_REQUESTS"]
    )
    assert "$(HOME) costs $5" in env_of(test["spec"]["env"])["LAB_REQUESTS"]


# --- The files -------------------------------------------------------------------------------


def test_write_gives_yaml_in_the_order_to_apply(plans, tmp_path):
    """write() puts every object in YAML files (a comment header, then the documents), in the
    order to apply them, and refuses a directory that already holds something."""
    plan, files = plans["cpu"]
    written = kubernetes.write(plan, tmp_path / "k8s")
    assert written == sorted(written) and written[0].name == "00-test-files.yaml"
    assert [p.relative_to(tmp_path / "k8s") for p in written] == [p for p, _, _ in files]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    read = []
    for path in written:
        text = path.read_text()
        assert text.startswith("# loadlab (src/loadlab/stack/kubernetes.py), run ")
        read += [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    assert read == objects(files)
    kinds = [d["kind"] for d in read]
    assert kinds.index("Deployment") < kinds.index("LocustTest")
    with pytest.raises(ConfigError, match="new or empty directory"):
        kubernetes.write(plan, tmp_path / "k8s")
