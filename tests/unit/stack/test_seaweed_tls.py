"""The embedded SeaweedFS's certificates: made once per data dir, kept across restarts, renewed
near their end."""

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from reelay_stack import seaweed_tls
from reelay_stack.seaweed_tls import ensure_certificates


def test_the_certificate_is_signed_by_the_ca_whose_key_is_gone(tmp_path: Path) -> None:
    made = ensure_certificates(tmp_path / "tls")

    ca = x509.load_pem_x509_certificate(made.ca.read_bytes())
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert sorted(path.name for path in (tmp_path / "tls").iterdir()) == [
        "ca.pem",
        "cert.pem",
        "key.pem",
    ]
    for path in (made.ca, made.cert, made.key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_restart_keeps_the_certificate(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path / "tls")
    before = first.cert.read_bytes()

    assert ensure_certificates(tmp_path / "tls").cert.read_bytes() == before


def test_a_certificate_near_its_end_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seaweed_tls, "VALIDITY", seaweed_tls.RENEW_BEFORE / 2)
    short = ensure_certificates(tmp_path / "tls").cert.read_bytes()
    monkeypatch.undo()

    renewed = ensure_certificates(tmp_path / "tls").cert.read_bytes()

    assert renewed != short
    ends = x509.load_pem_x509_certificate(renewed).not_valid_after_utc
    assert ends - datetime.datetime.now(datetime.UTC) > seaweed_tls.RENEW_BEFORE
