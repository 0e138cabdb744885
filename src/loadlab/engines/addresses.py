"""The addresses a second engine on this machine takes, and the check that the machine uses
none of them: pure, so it is tested on recorded `ip -4 route show table all` and
`ip -4 addr` outputs (choose, in_use, parse_net, parse_bridge).

The defaults come from RFC 2544's benchmarking range 198.18.0.0/15: reserved for exactly this
(test networks), never routed on the internet, and used by neither Docker's address pools
(172.17.0.0/12, 192.168.0.0/16) nor cloud VPCs and CI runners (10/8) nor carrier NAT and
Tailscale (100.64.0.0/10). They are still checked against every route, gateway and address of
the machine: an overlap is refused in one line before anything is made. The default route's
0/0 is the one route left out of the check (every more specific route, the veth's /30
included, lies inside it), but its gateway is not: a veth address shadowing the gateway would
cut the machine off.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass

from loadlab.errors import ConfigError

DEFAULT_NET = "198.18.0.0/30"  # the veth: host end .1, namespace end .2
DEFAULT_BRIDGE = "198.19.0.1/24"  # dockerd's docker0 inside the namespace
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15")
)
# The type words `ip route show table all` may put before a destination.
ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "throw", "unreachable"}
ROUTE_TYPES |= {"prohibit", "blackhole", "nat", "anycast"}


@dataclass(frozen=True)
class Addresses:
    """What the second engine takes: the veth's network, its two ends, dockerd's bridge."""

    net: str  # the veth's /30 (or /29)
    host_address: str  # the host end: where engine A publishes what engine B must reach
    namespace_address: str  # the namespace end: where engine B's published ports are
    bridge: str  # dockerd's --bip: the bridge's address and prefix


def in_use(routes_text: str, addrs_text: str) -> list[tuple[ipaddress.IPv4Network, str]]:
    """Every network the machine uses, with the line that says so: each route's destination
    (the default route's 0/0 excepted: more specific routes beside it are what a veth adds),
    each gateway, each address with its prefix (and a point-to-point peer)."""
    found = []
    for line in routes_text.splitlines():
        words = line.split()
        if words and not line[0].isspace():
            dst = words[1] if words[0] in ROUTE_TYPES and len(words) > 1 else words[0]
            if dst != "default":
                with contextlib.suppress(ValueError):
                    found.append((ipaddress.IPv4Network(dst, strict=False), line.strip()))
        for i, word in enumerate(words[:-1]):
            if word == "via":
                gateway = (
                    words[i + 2] if words[i + 1] == "inet" and i + 2 < len(words) else words[i + 1]
                )
                with contextlib.suppress(ValueError):
                    found.append((ipaddress.IPv4Network(gateway), line.strip()))
    for match in re.finditer(r"^\s*inet (\S+)(?: peer (\S+))?", addrs_text, flags=re.M):
        for given in filter(None, match.groups()):
            with contextlib.suppress(ValueError):
                found.append((ipaddress.IPv4Interface(given).network, match.group(0).strip()))
    return found


def parse_net(text: str) -> ipaddress.IPv4Network:
    """SECOND_ENGINE_NET: a /30 or /29 network address inside a private range."""
    try:
        net = ipaddress.IPv4Network(text.strip())
    except ValueError:
        net = None
    if net is None or net.prefixlen not in (29, 30) or not is_private(net):
        raise ConfigError(
            f"SECOND_ENGINE_NET={text} is not a /30 or /29 network of a private range "
            f"(10/8, 172.16/12, 192.168/16, 100.64/10, 198.18/15), e.g. {DEFAULT_NET}"
        )
    return net


def parse_bridge(text: str, net: ipaddress.IPv4Network) -> ipaddress.IPv4Interface:
    """SECOND_ENGINE_BRIDGE: dockerd's --bip, a host address with a /16../28 prefix inside a
    private range, apart from the veth's network."""
    try:
        bridge = ipaddress.IPv4Interface(text.strip())
    except ValueError:
        bridge = None
    if (
        bridge is None
        or not 16 <= bridge.network.prefixlen <= 28
        or bridge.ip in (bridge.network.network_address, bridge.network.broadcast_address)
        or not is_private(bridge.network)
        or bridge.network.overlaps(net)
    ):
        raise ConfigError(
            f"SECOND_ENGINE_BRIDGE={text} is not an address/prefix (/16 to /28) of a private "
            f"range apart from {net}, e.g. {DEFAULT_BRIDGE}"
        )
    return bridge


def choose(net: str, bridge: str, routes_text: str, addrs_text: str) -> Addresses:
    """The second engine's addresses, or ConfigError (one line) if either range is taken."""
    veth = parse_net(net)
    bip = parse_bridge(bridge, veth)
    for name, given, mine in (("NET", net, veth), ("BRIDGE", bridge, bip.network)):
        for used, line in in_use(routes_text, addrs_text):
            if mine.overlaps(used):
                raise ConfigError(
                    f"SECOND_ENGINE_{name}={given} overlaps {used} of this machine "
                    f"({line}); give a free range: SECOND_ENGINE_{name}=..."
                )
    host, ns = list(veth.hosts())[:2]
    return Addresses(f"{veth}", f"{host}", f"{ns}", f"{bip}")


def is_private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(p) for p in PRIVATE)
