"""Webhook URLs: http(s) only, and no address of the server's own networks (SSRF)."""

from __future__ import annotations

import ipaddress

import pytest
from reelay_core.webhooks.addresses import RefusedUrl, checked_address, is_public, parse


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "ff02::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://127.0.0.1:6379/_", "http:// or https://"),
        ("https:///nohost", "no host"),
        ("http://example.com:99999/", "not valid"),
        ("https://example.com/" + "a" * 2100, "longer than 2048"),
        ("http://exa\x00mple.com/", "control characters"),
        ("http://example.com/a b", "spaces"),
    ],
)
def test_urls_refused_by_their_shape(url: str, reason: str) -> None:
    with pytest.raises(RefusedUrl, match=reason):
        parse(url)


def test_default_ports() -> None:
    assert parse("https://example.com/x").port == 443
    assert parse("http://example.com/x").port == 80
    assert parse("http://example.com:8080/x").port == 8080


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3000/hook",
        "http://localhost:3000/hook",  # a name: refused by what it resolves to
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",  # 127.0.0.1 as one number
    ],
)
async def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(RefusedUrl, match="public addresses"):
        await checked_address(url, allow_private=False)
    target, address = await checked_address(url, allow_private=True)
    assert not is_public(address) and target.host


async def test_a_literal_public_address_needs_no_lookup() -> None:
    target, address = await checked_address("https://8.8.8.8/hook", allow_private=False)
    assert (target.scheme, target.port, str(address)) == ("https", 443, "8.8.8.8")


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(RefusedUrl, match="does not resolve"):
        await checked_address("https://no-such-host.invalid/hook", allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://" + "a" * 64 + ".com/", "http://a..b/", "http://.../", "http://[::1/"]
)
async def test_names_that_are_no_names_are_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(RefusedUrl):
        await checked_address(url, allow_private=True)
