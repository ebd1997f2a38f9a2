"""Mutual TLS between the embedded SeaweedFS's own servers, from a CA made for one data dir.

Master, volume and filer answer gRPC and HTTP on loopback ports that every local user can
reach; with these certificates each of them talks only to a peer holding the one client
certificate, which lives in the stack's private data dir. The CA's key is thrown away once the
certificate is signed, so nothing can sign another.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reelay_stack.secrets import write_private

VALIDITY = datetime.timedelta(days=3650)
# A certificate this close to its end is replaced at the next start.
RENEW_BEFORE = datetime.timedelta(days=90)
# The CA signs certificates, and nothing else.
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path

    def weed_env(self) -> dict[str, str]:
        """security.toml's keys as the variables SeaweedFS also reads them from.

        gRPC: every server requires the client certificate, and every server dials with it.
        HTTP: master, volume and filer serve HTTPS requiring it, and every HTTP client inside
        `weed` (the S3 gateway's, the filer's) presents it. The S3 gateway stays plain HTTP for
        reelay's API and worker, which sign their requests.
        """
        paths = {"CA": str(self.ca), "CERT": str(self.cert), "KEY": str(self.key)}
        env = {"WEED_GRPC_CA": paths["CA"]}
        for component in ("MASTER", "VOLUME", "FILER", "S3", "CLIENT"):
            env[f"WEED_GRPC_{component}_CERT"] = paths["CERT"]
            env[f"WEED_GRPC_{component}_KEY"] = paths["KEY"]
        for component in ("MASTER", "VOLUME", "FILER", "CLIENT"):
            for name, path in paths.items():
                env[f"WEED_HTTPS_{component}_{name}"] = path
        env["WEED_HTTPS_CLIENT_ENABLED"] = "true"
        return env


def ensure_certificates(directory: Path) -> Certificates:
    """The CA and the one certificate (server and client) in `directory`, made if missing or
    near their end."""
    found = Certificates(
        ca=directory / "ca.pem", cert=directory / "cert.pem", key=directory / "key.pem"
    )
    if not _still_valid(found):
        directory.mkdir(mode=0o700, exist_ok=True)
        _issue(found)
    return found


def _still_valid(certificates: Certificates) -> bool:
    if not all(path.exists() for path in (certificates.ca, certificates.cert, certificates.key)):
        return False
    leaf = x509.load_pem_x509_certificate(certificates.cert.read_bytes())
    return leaf.not_valid_after_utc - RENEW_BEFORE > datetime.datetime.now(datetime.UTC)


def _issue(certificates: Certificates) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reelay embedded SeaweedFS CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reelay embedded SeaweedFS")])
    # Go's HTTPS client checks the address it dialed against the certificate; gRPC does not.
    addresses = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        _builder(name, ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(addresses, critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    # The certificate last: once it is there (and not near its end), the set is complete.
    write_private(
        certificates.key,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    write_private(certificates.ca, ca.public_bytes(serialization.Encoding.PEM).decode())
    write_private(certificates.cert, cert.public_bytes(serialization.Encoding.PEM).decode())


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # A clock a little behind the one that signed must still accept it.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALIDITY)
    )
