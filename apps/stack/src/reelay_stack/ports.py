"""TCP ports: the embedded servers' defaults, and finding and checking ports on loopback.

Kept free of heavy imports: the `reelay` command reads the defaults for its help text.
"""

import random
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    """Ports of the embedded servers that `reelay up` starts."""

    redis: int = 16379
    s3: int = 8333
    seaweed: int = 19333  # SeaweedFS master; volume and filer take the next two


# SeaweedFS takes the two ports after its master's, and each of the three again 10000 higher
# for gRPC; any port we hand out is free with all of those.
SPAN = 3
GRPC_OFFSET = 10000
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on loopback, with its SeaweedFS companions, below the kernel's ephemeral
    range: a port the kernel may give an outgoing connection could be taken between this check
    and the server's bind. Never the same one twice in a process."""
    high = ephemeral_start() - GRPC_OFFSET - SPAN
    for _ in range(500):
        port = random.randrange(10000, high)
        needed = {p + offset for p in range(port, port + SPAN) for offset in (0, GRPC_OFFSET)}
        if needed.isdisjoint(_handed_out) and all(port_is_free(p, host) for p in needed):
            _handed_out.update(needed)
            return port
    raise RuntimeError("no free port below the ephemeral range on this machine")


def ephemeral_start(default: int = 32768) -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
