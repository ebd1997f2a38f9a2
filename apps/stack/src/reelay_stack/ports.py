"""TCP ports: the embedded servers' defaults, and finding and checking ports on loopback.

Kept free of heavy imports: the `reelay` command reads the defaults for its help text.
"""

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    """Ports of the embedded servers that `reelay up` starts."""

    redis: int = 16379
    s3: int = 8333
    seaweed: int = 19333  # SeaweedFS master; volume and filer take the next two


def free_port(host: str = "127.0.0.1") -> int:
    # Ask for a port below 50000 so that services adding 10000 for gRPC (SeaweedFS) stay valid.
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((host, 0))
            port: int = probe.getsockname()[1]
        if port < 50000 and port_is_free(port + 10000, host):
            return port
    raise RuntimeError("no free port below 50000 on this machine")


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
