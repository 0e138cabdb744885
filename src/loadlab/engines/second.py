"""A second Docker engine on this machine, so "target on engine A, Locust on engine B" is
tested for real: `python -m loadlab.engines.second up|down|state` (make second-engine,
make second-engine-down).

    host (engine A)                              netns loadlab-engine2 (engine B)
    loadlab2-host 198.18.0.1/30  <--- veth --->  loadlab2-ns 198.18.0.2/30
    (the only route added: the /30 itself)       default via 198.18.0.1; containerd and
                                                 dockerd, bridge 198.19.0.1/24, NAT by dockerd

The addresses (SECOND_ENGINE_NET, SECOND_ENGINE_BRIDGE) are checked against the machine's
routes and addresses before anything is made (``addresses``); the host gains one route only,
the connected /30 its veth end implies, and its default route is never touched.

containerd is started by us, not by dockerd: dockerd 20.10 uses the machine's containerd
whenever /run/containerd/containerd.sock exists (docker-ce's hosts, hosted CI runners), and
both engines would share its "moby" namespace. Both enter the namespace with
`nsenter --net` alone, not `ip netns exec`: that one also makes a mount namespace with a fresh
/sys, where the cgroup mounts are gone and dockerd refuses to start ("Devices cgroup isn't
mounted"). So they share the host's mounts, as the first engine does, and `down` unmounts
whatever a crashed dockerd left under its roots. Its own `--config-file` keeps the first
engine's /etc/docker/daemon.json out.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from loadlab.engines import remains
from loadlab.engines.addresses import (
    DEFAULT_BRIDGE,
    DEFAULT_NET,
    Addresses,
    choose,
    parse_bridge,
    parse_net,
)
from loadlab.errors import ConfigError, EngineError, LabError

NAME = "loadlab-engine2"  # the netns, the Docker context, the cgroup parent
HOST_IF, NS_IF = "loadlab2-host", "loadlab2-ns"
EXEC_ROOT = Path("/run") / NAME
DATA_ROOT = Path("/var/lib") / NAME
SOCKET = Path("/run") / f"{NAME}.sock"
STATE = EXEC_ROOT / "state.json"
LOG = Path("/var/log") / f"{NAME}.log"
CONTAINERD_LOG = Path("/var/log") / f"{NAME}-containerd.log"
CONTAINERD_SOCKET = EXEC_ROOT / "containerd" / "containerd.sock"
START_TIMEOUT_S = 60.0


def cgroup_parent(driver: str) -> str:
    """The cgroup parent of engine B's containers, in the form the driver takes."""
    return f"{NAME}.slice" if driver == "systemd" else f"/{NAME}"


def paste_lines(state: dict) -> list[str]:
    """What a user pastes: both engines (master on B, workers on A reaching it), then B alone."""
    host, ns = state["host_address"], state["namespace_address"]
    return [
        f"LOAD_CONTEXTS={NAME},default TARGET_ADDRESS={host} MASTER_ADDRESS={ns}",
        f"LOAD_CONTEXTS={NAME} TARGET_ADDRESS={host}",
    ]


# --- the engine's life ---------------------------------------------------------------------


def _run(*cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode:
        why = (done.stderr or done.stdout).strip().splitlines()
        raise EngineError(f"`{' '.join(cmd)}` failed: {why[-1] if why else done.returncode}")
    return done


def _docker_b(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return _run("docker", "-H", f"unix://{SOCKET}", *args, check=False, timeout=timeout)


def read_state() -> dict | None:
    """The facts of the running second engine (STATE), or None when it is not up."""
    try:
        return json.loads(STATE.read_text())
    except (OSError, ValueError):
        return None


def healthy() -> dict | None:
    """The state if the engine answers on its socket and its netns exists, else None."""
    state = read_state()
    ok = state is not None and Path("/run/netns", NAME).exists()
    return state if ok and _docker_b("version", timeout=10).returncode == 0 else None


def up(net: str | None = None, bridge: str | None = None) -> dict:
    """Bring the second engine up (or find it up) and return its state."""
    if net is not None or bridge is not None:  # refuse a bad value before anything else
        parse_bridge(bridge or DEFAULT_BRIDGE, parse_net(net or DEFAULT_NET))
    _require()
    if state := healthy():
        for key, given in (("net", net), ("bridge", bridge)):
            if given is not None and given.strip() != state[key]:
                raise ConfigError(
                    f"the second engine is up with {key} {state[key]}, not "
                    f"{given}: make second-engine-down first"
                )
        _context()
        return state
    if leftovers(keep_data=True):
        down(keep_data=True)  # a crashed run's remains; its images are kept
    routes = _run("ip", "-4", "route", "show", "table", "all").stdout
    addrs = _run("ip", "-4", "addr").stdout
    chosen = choose(net or DEFAULT_NET, bridge or DEFAULT_BRIDGE, routes, addrs)
    had_data = DATA_ROOT.exists()
    try:
        return _start(chosen)
    except BaseException:
        with contextlib.suppress(LabError):
            down(keep_data=had_data)  # nothing left behind but what was there before
        raise


def _require() -> None:
    if os.geteuid() != 0:
        raise EngineError("the second engine needs root (a netns, a veth, a dockerd)")
    missing = [
        c
        for c in ("ip", "nsenter", "iptables", "containerd", "dockerd", "docker")
        if shutil.which(c) is None
    ]
    if missing:
        raise EngineError(f"missing {', '.join(missing)}: run make engine (Debian's docker.io)")


def _start(a: Addresses) -> dict:
    prefix = ipaddress.IPv4Network(a.net).prefixlen
    _run("ip", "netns", "add", NAME)
    _run("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF, "netns", NAME)
    _run("ip", "addr", "add", f"{a.host_address}/{prefix}", "dev", HOST_IF)
    _run("ip", "link", "set", HOST_IF, "up")
    _run("ip", "-n", NAME, "link", "set", "lo", "up")
    _run("ip", "-n", NAME, "addr", "add", f"{a.namespace_address}/{prefix}", "dev", NS_IF)
    _run("ip", "-n", NAME, "link", "set", NS_IF, "up")
    _run("ip", "-n", NAME, "route", "add", "default", "via", a.host_address)
    (EXEC_ROOT / "containerd").mkdir(parents=True, exist_ok=True)
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    config = EXEC_ROOT / "containerd.toml"
    config.write_text(
        f'version = 2\nroot = "{DATA_ROOT}/containerd/daemon"\n'
        f'state = "{EXEC_ROOT}/containerd/daemon"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{CONTAINERD_SOCKET}"\n'
    )
    (EXEC_ROOT / "daemon.json").write_text("{}\n")
    enter = ["nsenter", f"--net=/run/netns/{NAME}", "--"]
    containerd = _spawn([*enter, "containerd", "--config", f"{config}"], CONTAINERD_LOG)
    _wait(lambda: CONTAINERD_SOCKET.is_socket(), containerd, CONTAINERD_LOG, "containerd")
    done = _run("docker", "info", "--format", "{{.CgroupDriver}}", check=False)
    driver = "systemd" if done.stdout.strip() == "systemd" else "cgroupfs"  # as engine A's
    dockerd = _spawn(
        [
            *enter,
            "dockerd",
            f"--config-file={EXEC_ROOT}/daemon.json",
            f"--data-root={DATA_ROOT}",
            f"--exec-root={EXEC_ROOT}",
            f"--pidfile={EXEC_ROOT}/dockerd.pid",
            f"--host=unix://{SOCKET}",
            f"--containerd={CONTAINERD_SOCKET}",
            f"--bip={a.bridge}",
            f"--cgroup-parent={cgroup_parent(driver)}",
            f"--exec-opt=native.cgroupdriver={driver}",
        ],
        LOG,
    )
    _wait(lambda: _docker_b("version", timeout=10).returncode == 0, dockerd, LOG, "dockerd")
    state = {
        "context": NAME,
        "socket": f"{SOCKET}",
        "docker_host": f"unix://{SOCKET}",
        "netns": NAME,
        **asdict(a),
        "bridge_cidr": f"{ipaddress.IPv4Interface(a.bridge).network}",
        "host_interface": HOST_IF,
        "namespace_interface": NS_IF,
        "data_root": f"{DATA_ROOT}",
        "exec_root": f"{EXEC_ROOT}",
        "cgroup_driver": driver,
        "cgroup_parent": cgroup_parent(driver),
        "dockerd_pid": dockerd,
        "containerd_pid": containerd,
        "log": f"{LOG}",
        "containerd_log": f"{CONTAINERD_LOG}",
    }
    _context()
    STATE.write_text(json.dumps(state, indent=2) + "\n")
    return state


def _spawn(cmd: list[str], log: Path) -> int:
    """A daemon in a session of its own, its output in ``log``, no pipe of ours (CI waits for
    pipes to close, not for daemons); its pid. No Popen: it would outlive its object."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
        actions += [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]
        return os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=actions, setsid=True)
    finally:
        os.close(fd)


def _wait(ready, pid: int, log: Path, what: str) -> None:
    """Until ``ready()``; EngineError, after the log's last lines, if ``pid`` exits first or
    START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        exited = os.waitpid(pid, os.WNOHANG)[0] == pid
        if exited or time.monotonic() > deadline:
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            print("\n".join(f"  {line}" for line in tail), file=sys.stderr)
            late = "exited" if exited else f"did not answer in {START_TIMEOUT_S:.0f} s"
            raise EngineError(f"the second engine's {what} {late}; its log: {log} (lines above)")
        time.sleep(0.25)


def _context() -> None:
    """The Docker context, made afresh unless it points at the socket (a crashed run's may
    point anywhere)."""
    found = _run(
        "docker", "context", "inspect", NAME, "--format", "{{.Endpoints.docker.Host}}", check=False
    )
    if found.returncode == 0 and found.stdout.strip() == f"unix://{SOCKET}":
        return
    _run("docker", "context", "rm", "--force", NAME, check=False)
    _run(
        "docker",
        "context",
        "create",
        NAME,
        "--description",
        "loadlab's second engine",
        "--docker",
        f"host=unix://{SOCKET}",
    )


def down(keep_data: bool = False) -> None:
    """Stop everything of the second engine and remove it; nothing up is fine. EngineError
    (naming what is left) if something could not be removed."""
    if SOCKET.exists():
        ids = _docker_b("ps", "--all", "--quiet").stdout.split()
        if ids:
            _docker_b("rm", "--force", "--volumes", *ids, timeout=120)
    netns = Path("/run/netns", NAME)
    for names in (("dockerd",), ("containerd",), None):  # dockerd first: it stops containers
        remains.stop(remains.processes(NAME, netns), names)
    remains.cgroups(NAME, remove=True)
    remains.unmount((EXEC_ROOT, DATA_ROOT))
    if shutil.which("docker"):
        _run("docker", "context", "rm", "--force", NAME, check=False)
    if _run("ip", "link", "show", "dev", HOST_IF, check=False).returncode == 0:
        _run("ip", "link", "del", HOST_IF)
    if Path("/run/netns", NAME).exists():
        _run("ip", "netns", "del", NAME)
    shutil.rmtree(EXEC_ROOT, ignore_errors=True)
    SOCKET.unlink(missing_ok=True)
    if not keep_data:
        shutil.rmtree(DATA_ROOT, ignore_errors=True)
    if left := leftovers(keep_data):
        raise EngineError(f"the second engine left {', '.join(left)} behind")


def leftovers(keep_data: bool = False) -> list[str]:
    """What of the second engine exists on this machine, in words; [] when it is all gone."""
    left = [f"netns {NAME}"] if Path("/run/netns", NAME).exists() else []
    if _run("ip", "link", "show", "dev", HOST_IF, check=False).returncode == 0:
        left.append(f"link {HOST_IF}")
    if (
        shutil.which("docker")
        and _run("docker", "context", "inspect", NAME, check=False).returncode == 0
    ):
        left.append(f"context {NAME}")
    found = remains.processes(NAME, Path("/run/netns", NAME))
    left += [f"process {pid} ({comm})" for pid, comm in sorted(found.items())]
    left += [f"cgroup {p}" for p in remains.cgroups(NAME, remove=False)]
    left += [f"mount {m}" for m in remains.mounts((EXEC_ROOT, DATA_ROOT))]
    paths = (EXEC_ROOT, SOCKET) if keep_data else (EXEC_ROOT, SOCKET, DATA_ROOT)
    return left + [f"{p}" for p in paths if p.exists()]


def main(argv: list[str] | None = None) -> int:
    """up: print its state and the lines to paste (the last one: engine B alone);
    down: remove it all (--keep-data keeps its images); state: its facts as JSON."""
    parser = argparse.ArgumentParser(prog="python -m loadlab.engines.second")
    parser.add_argument("action", choices=("up", "down", "state"))
    parser.add_argument("--net", help=f"the veth's /30 or /29 (default {DEFAULT_NET})")
    parser.add_argument("--bridge", help=f"dockerd's --bip (default {DEFAULT_BRIDGE})")
    parser.add_argument("--keep-data", action="store_true", help="down: keep the data root")
    parser.add_argument("--dry-run", action="store_true", help="up: check --net, --bridge only")
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            parse_bridge(args.bridge or DEFAULT_BRIDGE, parse_net(args.net or DEFAULT_NET))
            return 0
        if args.action == "state":
            state = healthy() if os.geteuid() == 0 else read_state()
            print(json.dumps(state, indent=2))
            return 0 if state else 1
        if args.action == "down":
            down(keep_data=args.keep_data)
            print(
                f"second-engine: down, nothing left{' (data kept)' if args.keep_data else ''}",
                file=sys.stderr,
            )
            return 0
        started = time.monotonic()
        state = up(net=args.net or None, bridge=args.bridge or None)
        print(
            f"second-engine: context {NAME} (dockerd in netns {NAME}, {state['socket']}), "
            f"ready in {time.monotonic() - started:.1f} s; state: {STATE}",
            file=sys.stderr,
        )
        print("\n".join(paste_lines(state)))
        return 0
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1


if __name__ == "__main__":
    raise SystemExit(main())
