"""What an engine leaves on the machine, found and removed: its processes (those in its network
namespace, and its daemons and shims anywhere, whose command line names it), the cgroups of
its containers and the mounts under its roots (processes, stop, cgroups, mounts, unmount).
Read from /proc and /sys/fs/cgroup; the engine
is named by a word its paths carry (``loadlab-engine2``), never by a process name alone, so
the machine's own engine is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

# The commands of an engine: a process of one of these whose command line names the engine is
# its daemon, shim or proxy, wherever it runs.
ENGINE_COMMANDS = {"dockerd", "containerd", "docker-proxy", "runc"}
CGROUP_ROOT = Path("/sys/fs/cgroup")


def processes(name: str, netns: Path) -> dict[int, str]:
    """The engine's processes (pid -> command): every process in the network namespace
    ``netns`` (if it exists), and the engine commands whose command line holds ``name``;
    never this process or its parents."""
    inode = netns.stat().st_ino if netns.exists() else None
    skip, pid = set(), os.getpid()
    while pid > 1:
        skip.add(pid)
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        with contextlib.suppress(OSError):
            comm = (entry / "comm").read_text().strip()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            engine = comm in ENGINE_COMMANDS or comm.startswith("containerd-shim")
            if (engine and name in args) or (
                inode is not None and (entry / "ns/net").stat().st_ino == inode
            ):
                found[int(entry.name)] = comm
    return found


def stop(found: dict[int, str], names: tuple[str, ...] | None, grace_s: float = 20.0) -> None:
    """TERM those of ``found`` whose command is in ``names`` (None: all), wait up to
    ``grace_s``, then KILL what is left."""
    pids = [p for p, comm in found.items() if names is None or comm in names]
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while (pids := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pids:
            return


def _alive(pid: int) -> bool:
    """Running (a zombie is not; one that this process started is reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return state != "Z"


def cgroups(name: str, remove: bool, root: Path = CGROUP_ROOT) -> list[Path]:
    """The cgroup parents named ``name`` (cgroupfs) or ``name.slice`` (systemd) that still
    exist: v1 has one per hierarchy, v2 one. With ``remove``, whatever still runs in them is
    killed first (a crashed engine's containers) and they are removed, deepest first."""
    tops = [root, *(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
    found = [t / n for t in tops for n in (name, f"{name}.slice") if (t / n).is_dir()]
    for parent in found if remove else ():
        for where, _, _ in sorted(os.walk(parent), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):
                for pid in (Path(where) / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
            for _ in range(50):  # a killed task leaves its cgroup a moment later
                with contextlib.suppress(OSError):
                    os.rmdir(where)
                    break
                time.sleep(0.1)
    return [p for p in found if p.is_dir()]


def mounts(roots: tuple[Path, ...], mountinfo: Path = Path("/proc/self/mountinfo")) -> list[str]:
    """The mount points at or under ``roots`` (a crashed dockerd's overlays, netns files)."""
    found = []
    for line in mountinfo.read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == f"{r}" or point.startswith(f"{r}/") for r in roots):
            found.append(point)
    return found


def unmount(roots: tuple[Path, ...]) -> None:
    """Unmount everything under ``roots``, deepest first (lazily: a busy one goes when free)."""
    for point in sorted(mounts(roots), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
