"""The local cluster's secrets: a CA, one certificate per node, and the SCRAM passwords.

Why generated here: a local cluster secured by default needs TLS material and credentials
that no one has to create by hand, kept in the cluster's data directory (never in the
repository) with owner-only permissions. They are made once, when the cluster is first
formatted, and reused at every restart: the SCRAM credentials are in the KRaft storage
(KIP-900), so the passwords must not change afterwards.

The ``cryptography`` package writes the CA (PEM, what Python clients and the broker's PEM
truststore read) and each node's PKCS#12 keystore (what the JVM reads) directly, without
running ``keytool`` once per file.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ADMIN = "admin"  # the brokers' own principal (inter-broker traffic, the launcher's checks)
BUS = "seabus"  # the bus's principal: the worker, the gateway, the CLI
MECHANISM = "SCRAM-SHA-512"
VALID_DAYS = 825


def node_principal(node_id: int) -> str:
    """The mutual-TLS principal of a node on the controller listener."""
    return f"CN=seabus-kafka-node-{node_id}"


@dataclass(frozen=True)
class LocalSecrets:
    """Paths of the generated material under ``<cluster dir>/security``."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        return self.directory / "ca.key"

    def keystore(self, node_id: int) -> Path:
        return self.directory / f"node-{node_id}.p12"

    @property
    def keystore_password_file(self) -> Path:
        return self.directory / "keystore.password"

    def password_file(self, principal: str) -> Path:
        return self.directory / f"{principal}.password"

    def password(self, principal: str) -> str:
        return self.password_file(principal).read_text(encoding="utf-8").strip()

    @property
    def keystore_password(self) -> str:
        return self.keystore_password_file.read_text(encoding="utf-8").strip()

    def exists(self, nodes: int) -> bool:
        files = [self.ca_file, self.keystore_password_file, *map(self.password_file, (ADMIN, BUS))]
        files += [self.keystore(n) for n in range(1, nodes + 1)]
        return all(f.exists() for f in files)

    def ensure(self, nodes: int) -> None:
        """Create whatever is missing: the CA and passwords once, a keystore per node."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        for principal in (ADMIN, BUS):
            if not self.password_file(principal).exists():
                write_private(self.password_file(principal), secrets.token_urlsafe(24).encode())
        if not self.keystore_password_file.exists():
            write_private(self.keystore_password_file, secrets.token_urlsafe(24).encode())
        if not self.ca_file.exists() or not self.ca_key_file.exists():
            self._new_ca()
        ca_key = serialization.load_pem_private_key(self.ca_key_file.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.ca_file.read_bytes())
        for node_id in range(1, nodes + 1):
            if not self.keystore(node_id).exists():
                self._new_node(node_id, ca_key, ca_cert)

    def _new_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seabus local Kafka CA")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        write_private(
            self.ca_key_file,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _new_node(self, node_id: int, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"seabus-kafka-node-{node_id}")])
            )
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        # PBES2 with AES-256 and SHA-256: what Java 17 itself writes, so its keystore reader takes it.
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(10_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(self.keystore_password.encode())
        )
        blob = pkcs12.serialize_key_and_certificates(
            name=f"node-{node_id}".encode(),
            key=key,
            cert=cert,
            cas=[ca_cert],
            encryption_algorithm=encryption,
        )
        write_private(self.keystore(node_id), blob)


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (created so, never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
