"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is created and again at every delivery, which then connects to the very
address it checked, so a name that resolves elsewhere the second time (DNS rebinding) cannot
steer a delivery into the server's own network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2048


class RefusedUrl(ValueError):
    """A URL a webhook may not be sent to; the message says why, in words for the user."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL, for the Host header and TLS
    port: int


def parse(url: str) -> Target:
    """The URL's parts, or RefusedUrl: http or https only, a host, no more than 2048 chars."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise RefusedUrl("The URL contains spaces or control characters; percent-encode them.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedUrl(f"The URL is not valid: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise RefusedUrl("Webhook URLs must start with http:// or https://.")
    if not parts.hostname:
        raise RefusedUrl("The URL has no host.")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def is_public(address: IPAddress) -> bool:
    """False for loopback, private, link-local, shared, reserved, multicast and unspecified
    addresses, and for IPv6 forms that embed such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to; RefusedUrl when it resolves to none."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except UnicodeError as exc:  # an empty or over-long label: no name at all
        raise RefusedUrl(f"The host {host} is not a valid name.") from exc
    except OSError as exc:
        raise RefusedUrl(f"The host {host} does not resolve ({exc.strerror or exc}).") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise RefusedUrl(f"The host {host} does not resolve.")
    return addresses


async def checked_address(url: str, *, allow_private: bool) -> tuple[Target, IPAddress]:
    """The target of `url` and the address to connect to; RefusedUrl when any address the host
    resolves to is not public (and `allow_private` is off): a name with one private address
    among public ones could be steered to it."""
    target = parse(url)
    addresses = await resolve(target.host, target.port)
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise RefusedUrl(
                    f"{target.host} resolves to {address}, a loopback, private, link-local or "
                    "reserved address; webhooks are only sent to public addresses."
                )
    return target, addresses[0]
