"""The second engine on this machine (loadlab.engines.second): its addresses chosen and refused
on recorded `ip -4 route show table all` / `ip -4 addr` outputs, its make targets, and, with a
real engine, brought up, reached both ways, and gone without a trace.

The container test takes down a second engine that is already up: it checks the whole life,
from nothing back to nothing.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from loadlab.engines import addresses, remains, second
from loadlab.engines.addresses import choose, in_use, parse_bridge, parse_net
from loadlab.errors import ConfigError
from loadlab.stack import cgroups

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "loadlab/target:latest"

# This machine's (Debian, Docker 20.10 with a Compose network up), recorded before any veth
# (the interfaces' flags shortened).
HERE_ROUTES = """\
default via 192.0.2.1 dev eth0
172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1
172.19.0.0/16 dev br-2620e58eca4e proto kernel scope link src 172.19.0.1
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1
local 172.17.0.1 dev docker0 table local proto kernel scope host src 172.17.0.1
broadcast 172.17.255.255 dev docker0 table local proto kernel scope link src 172.17.0.1
local 192.0.2.2 dev eth0 table local proto kernel scope host src 192.0.2.2
broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2
"""
HERE_ADDRS = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
4: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP group default
    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0
       valid_lft forever preferred_lft forever
5: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default
    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0
       valid_lft forever preferred_lft forever
"""
# A machine behind a fake-IP proxy (Clash, sing-box): its TUN holds the whole benchmark range.
TUN_ROUTES = HERE_ROUTES + "198.18.0.0/15 dev utun proto kernel scope link src 198.18.0.1\n"
TUN_ADDRS = HERE_ADDRS + "9: utun: <POINTOPOINT,UP>\n    inet 198.18.0.1/15 scope global utun\n"
# Written to the shape of `ip` (iproute2 6.1): a gateway inside the range with no route
# around it; a multipath default route; a point-to-point peer; another routing table.
SHADOWED_GATEWAY = "default via 198.18.0.1 dev eth0 onlink\n"
MULTIPATH = (
    "default proto static metric 1024\n"
    "\tnexthop via 10.0.0.1 dev eth1 weight 1\n"
    "\tnexthop via 198.18.0.2 dev eth2 weight 1\n"
)
PEER_ADDRS = "7: tun0: <POINTOPOINT>\n    inet 10.8.0.1 peer 198.18.0.2/32 scope global tun0\n"
OTHER_TABLE = "unreachable 198.18.0.0/29 table 100 proto static\n"


def test_this_machine_gets_the_default_range():
    """Nothing here uses 198.18.0.0/15: the host end is .1, the namespace end .2."""
    chosen = choose(addresses.DEFAULT_NET, addresses.DEFAULT_BRIDGE, HERE_ROUTES, HERE_ADDRS)
    assert chosen == addresses.Addresses(
        "198.18.0.0/30", "198.18.0.1", "198.18.0.2", "198.19.0.1/24"
    )


def test_what_a_machine_uses_is_read_from_routes_gateways_and_addresses():
    used = {str(n) for n, _ in in_use(HERE_ROUTES + MULTIPATH, HERE_ADDRS + PEER_ADDRS)}
    assert {"172.17.0.0/16", "192.0.2.0/24", "192.0.2.1/32", "127.0.0.0/8"} <= used
    assert {"10.0.0.1/32", "198.18.0.2/32", "10.8.0.1/32"} <= used
    assert "0.0.0.0/0" not in used  # the default route's 0/0 overlaps everything by design


@pytest.mark.parametrize(
    ("routes", "addrs", "named"),
    [
        (TUN_ROUTES, TUN_ADDRS, "198.18.0.0/15 dev utun"),
        (SHADOWED_GATEWAY, "", "default via 198.18.0.1"),
        (MULTIPATH, "", "nexthop via 198.18.0.2"),
        ("", PEER_ADDRS, "peer 198.18.0.2/32"),
        (OTHER_TABLE, "", "table 100"),
    ],
    ids=["tun", "gateway", "multipath", "peer", "table"],
)
def test_an_overlap_with_the_machine_is_refused_in_one_line(routes, addrs, named):
    """The default /30 is refused, naming the line of the machine it overlaps."""
    with pytest.raises(ConfigError) as refused:
        choose(addresses.DEFAULT_NET, addresses.DEFAULT_BRIDGE, routes, addrs)
    message = str(refused.value)
    assert message.startswith("SECOND_ENGINE_NET=198.18.0.0/30 overlaps ")
    assert named in message and "\n" not in message


def test_a_free_range_given_is_chosen():
    """On the proxy's machine, a range it leaves free works, a /29 included."""
    chosen = choose("10.213.0.0/29", "10.213.1.1/24", TUN_ROUTES, TUN_ADDRS)
    assert (chosen.host_address, chosen.namespace_address) == ("10.213.0.1", "10.213.0.2")
    assert chosen.net == "10.213.0.0/29" and chosen.bridge == "10.213.1.1/24"


def test_the_bridge_is_checked_like_the_veth():
    """dockerd's bridge may not overlap the machine either (or the veth: see below)."""
    with pytest.raises(ConfigError, match=r"^SECOND_ENGINE_BRIDGE=198\.19\.0\.1/24 overlaps"):
        choose(
            addresses.DEFAULT_NET,
            addresses.DEFAULT_BRIDGE,
            "198.19.0.0/16 via 192.0.2.1 dev eth0\n",
            "",
        )


@pytest.mark.parametrize(
    "given",
    [
        "bogus",
        "",
        "198.18.0.1/30",
        "198.18.0.0/24",
        "198.18.0.0/31",
        "8.8.8.0/30",
        "fd00::/126",
        "198.18.0.0",
    ],
)
def test_a_bad_net_is_one_line(given):
    """Host bits set, another size, a public range, IPv6: refused, naming the variable."""
    with pytest.raises(ConfigError) as refused:
        parse_net(given)
    assert str(refused.value).startswith(f"SECOND_ENGINE_NET={given} is not ")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "given", ["198.19.0.0/24", "198.19.0.255/24", "198.19.0.1/30", "198.18.0.1/24", "1.2.3.4/24"]
)
def test_a_bad_bridge_is_one_line(given):
    """Its network or broadcast address, too small, overlapping the veth, public: refused."""
    with pytest.raises(ConfigError, match=rf"^SECOND_ENGINE_BRIDGE={given} is not "):
        parse_bridge(given, ipaddress.IPv4Network(addresses.DEFAULT_NET))


def test_main_refuses_a_bad_net_before_anything(capsys):
    """`up` with a bad --net: exit 2 and one line on stderr, nothing asked of the machine."""
    assert second.main(["up", "--net", "10.0.0.0/8"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("error: SECOND_ENGINE_NET=10.0.0.0/8 is not ")
    assert second.main(["up", "--dry-run"]) == 0
    assert second.main(["up", "--dry-run", "--bridge", "x"]) == 2


def test_the_lines_to_paste():
    """Both engines (master on B, workers on A reach it), then B alone, last."""
    state = {"host_address": "198.18.0.1", "namespace_address": "198.18.0.2"}
    assert second.paste_lines(state) == [
        "LOAD_CONTEXTS=loadlab-engine2,default TARGET_ADDRESS=198.18.0.1 MASTER_ADDRESS=198.18.0.2",
        "LOAD_CONTEXTS=loadlab-engine2 TARGET_ADDRESS=198.18.0.1",
    ]
    assert second.cgroup_parent("cgroupfs") == "/loadlab-engine2"
    assert second.cgroup_parent("systemd") == "loadlab-engine2.slice"


def test_make_hands_the_variables_on():
    """make accepts SECOND_ENGINE_NET, SECOND_ENGINE_BRIDGE, KEEP_DATA and passes them."""
    run = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 60}
    given = ["SECOND_ENGINE_NET=10.9.0.0/30", "SECOND_ENGINE_BRIDGE=10.9.1.1/24"]
    done = subprocess.run(["make", "-n", "second-engine", *given], **run)
    assert done.returncode == 0, done.stderr
    assert "second up --net='10.9.0.0/30' --bridge='10.9.1.1/24'" in done.stdout
    done = subprocess.run(["make", "-n", "second-engine-down", "KEEP_DATA=1"], **run)
    assert done.returncode == 0 and "second down --keep-data" in done.stdout, done.stderr


def test_remains_finds_cgroups_and_mounts(tmp_path):
    """The cgroup parents per hierarchy (v1) are found and removed; mounts under the roots."""
    for hierarchy in ("cpu,cpuacct", "memory"):
        (tmp_path / hierarchy / "loadlab-engine2" / "abc123").mkdir(parents=True)
    (tmp_path / "memory" / "docker").mkdir()
    assert len(remains.cgroups("loadlab-engine2", remove=False, root=tmp_path)) == 2
    assert remains.cgroups("loadlab-engine2", remove=True, root=tmp_path) == []
    assert (tmp_path / "memory" / "docker").is_dir()
    info = tmp_path / "mountinfo"
    info.write_text(
        "36 35 98:0 / /var/lib/loadlab-engine2/overlay2/x/merged rw - overlay overlay rw\n"
        "37 35 98:0 / /var/lib/docker/overlay2/y/merged rw - overlay overlay rw\n"
    )
    roots = (Path("/var/lib/loadlab-engine2"),)
    assert remains.mounts(roots, info) == ["/var/lib/loadlab-engine2/overlay2/x/merged"]


# --- a real second engine ------------------------------------------------------------------


def _b(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "--context", second.NAME, *args], capture_output=True, text=True, timeout=timeout
    )


def _get(url: str, deadline_s: float = 30.0) -> str:
    """The body at ``url``, retried while the server starts."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


def _nothing_left() -> None:
    """leftovers() agrees with what a user would check by hand."""
    assert second.leftovers() == []
    assert (
        second.NAME
        not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    )
    assert (
        second.HOST_IF not in subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
    )
    contexts = subprocess.run(
        ["docker", "context", "ls", "--format", "{{.Name}}"], capture_output=True, text=True
    ).stdout.split()
    assert second.NAME not in contexts
    mine = {os.getpid(), os.getppid()}
    found = subprocess.run(["pgrep", "-f", second.NAME], capture_output=True, text=True)
    assert [p for p in found.stdout.split() if int(p) not in mine] == []


@pytest.fixture(scope="module")
def engine2():
    """The second engine, up; an overlapping range refused first; always down after."""
    if os.geteuid() != 0:
        pytest.fail("the second engine needs root")
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
        pytest.fail(f"image {IMAGE} is missing: run `make images`")
    second.down()
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    ).stdout
    addrs = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    taken = next(
        n for n, _ in in_use(routes, addrs) if n.prefixlen <= 29 and addresses.is_private(n)
    )
    assert second.main(["up", "--net", f"{taken.network_address}/30"]) == 2
    assert second.leftovers() == []
    try:
        started = time.monotonic()
        state = second.up()
        print(f"\nsecond engine up in {time.monotonic() - started:.2f} s")
        started = time.monotonic()
        sent = subprocess.run(
            f"docker save {IMAGE} | docker --context {second.NAME} load",
            shell=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert sent.returncode == 0, sent.stderr
        print(f"{IMAGE} sent to engine B in {time.monotonic() - started:.2f} s")
        yield state
    finally:
        started = time.monotonic()
        second.down()
        print(f"second engine down in {time.monotonic() - started:.2f} s")
        _nothing_left()
        second.down()  # nothing up: still fine


@pytest.mark.docker
def test_up_again_finds_it_up_and_prints_the_lines(engine2, capsys):
    """Idempotent: the same dockerd, the two lines again, the last one for engine B alone."""
    assert second.up()["dockerd_pid"] == engine2["dockerd_pid"]
    assert json.loads(second.STATE.read_text()) == engine2
    assert second.main(["up"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"LOAD_CONTEXTS={second.NAME} TARGET_ADDRESS={engine2['host_address']}"
    assert lines[-2].endswith(f"MASTER_ADDRESS={engine2['namespace_address']}")


@pytest.mark.docker
def test_a_container_on_b_reaches_the_host_end(engine2):
    """A server bound to the host end only is answered in a container of engine B."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"host end")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((engine2["host_address"], 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://{engine2['host_address']}:{server.server_address[1]}/"
        code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=5).read())"
        done = _b("run", "--rm", "--entrypoint", "python3", IMAGE, "-c", code)
        assert done.returncode == 0 and "host end" in done.stdout, done.stderr
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.docker
def test_the_target_on_a_at_the_host_end_is_reached_from_b(engine2):
    """The arrangement itself: the target on engine A published on the host end address only,
    its /health fetched by a container on engine B."""
    name = f"loadlab-second-test-{os.getpid()}"
    host = engine2["host_address"]
    started = subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "-p", f"{host}::8000", IMAGE],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr
    try:
        port = (
            subprocess.run(["docker", "port", name, "8000"], capture_output=True, text=True)
            .stdout.split(":")[-1]
            .strip()
        )
        assert '"ok"' in _get(f"http://{host}:{port}/health")
        url = f"http://{host}:{port}/health"
        code = f"import urllib.request; print(urllib.request.urlopen({url!r}, timeout=5).read())"
        done = _b("run", "--rm", "--entrypoint", "python3", IMAGE, "-c", code)
        assert done.returncode == 0 and '"ok"' in done.stdout, done.stderr
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.mark.docker
def test_the_host_reaches_a_port_published_on_b(engine2):
    """A port engine B publishes on its namespace address answers from the host; its
    container's cgroup is under B's own parent, found by the lab's cgroup reader."""
    ns = engine2["namespace_address"]
    started = _b("run", "-d", "-p", f"{ns}::8000", IMAGE)
    assert started.returncode == 0, started.stderr
    cid = started.stdout.strip()
    port = _b("port", cid, "8000").stdout.split(":")[-1].strip()
    assert '"ok"' in _get(f"http://{ns}:{port}/health")
    files = cgroups.locate(cid)
    assert files is not None and f"/{second.NAME}" in str(files.cpu_stat or files.cpu_usage)
    # B's dockerd runs on the containerd we started, inside the namespace: not the machine's.
    dockerd = Path(f"/proc/{engine2['dockerd_pid']}/cmdline").read_bytes().split(b"\0")
    assert f"--containerd={second.CONTAINERD_SOCKET}".encode() in dockerd
    netns = os.stat(f"/run/netns/{second.NAME}").st_ino
    assert os.stat(f"/proc/{engine2['containerd_pid']}/ns/net").st_ino == netns
