"""How every Kafka client of seabus connects: one setting, turned into each library's options.

Why one module: the worker (Faust), the gateway, delivery and the views (aiokafka), the
CLI, the SDK and the tools (kafka-python) must all speak TLS and SASL the same way, and a
client built anywhere else would quietly fall back to plaintext. ``tests/test_kafka_clients.py``
fails when a Kafka client is constructed outside this module.

``KafkaSecurity`` is the ``kafka`` section of the settings (``SEABUS_KAFKA__*``);
``KafkaConnection`` is that plus the bootstrap address, the one object handed to anything
that talks to Kafka. Passwords come from a file (``password_file``) or the environment
(``SEABUS_KAFKA__PASSWORD``), are held as ``SecretStr`` and are never part of a repr, a log
line or a command line.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

if TYPE_CHECKING:
    import faust
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.client import AIOKafkaClient
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient

__all__ = ["KafkaConnection", "KafkaSecurity", "SaslMechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_TLS = {"SSL", "SASL_SSL"}
_SASL = {"SASL_PLAINTEXT", "SASL_SSL"}


class KafkaSecurity(BaseModel):
    """TLS and SASL of a cluster; the default (PLAINTEXT) suits only a cluster on loopback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    username: str | None = None
    # Set through SEABUS_KAFKA__PASSWORD or password_file, never in a YAML file or an argument.
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = None  # None with TLS: the system's trusted CAs
    cert_file: Path | None = None  # mutual TLS: this client's certificate (PEM) ...
    key_file: Path | None = None  # ... and its unencrypted private key (PEM)
    check_hostname: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> KafkaSecurity:
        sasl = self.security_protocol in _SASL
        if sasl:
            if self.sasl_mechanism is None or not self.username:
                raise ValueError(
                    f"security_protocol {self.security_protocol} needs sasl_mechanism and username "
                    "(SEABUS_KAFKA__SASL_MECHANISM, SEABUS_KAFKA__USERNAME)"
                )
            if (self.password is None) == (self.password_file is None):
                raise ValueError(
                    "give exactly one of password_file and the SEABUS_KAFKA__PASSWORD environment variable"
                )
        elif self.sasl_mechanism or self.username or self.password or self.password_file:
            raise ValueError(
                f"SASL settings given but security_protocol is {self.security_protocol}: "
                "use SASL_SSL (or SASL_PLAINTEXT), or remove them"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("mutual TLS needs both cert_file and key_file")
        if self.security_protocol not in _TLS and (self.ca_file or self.cert_file):
            raise ValueError(
                f"TLS files given but security_protocol is {self.security_protocol}: use SSL or SASL_SSL"
            )
        return self


@dataclass(frozen=True, kw_only=True)
class KafkaConnection:
    """Where the cluster is and how to authenticate; builds every client seabus uses."""

    bootstrap: str
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap.split(",") if s.strip()]

    @property
    def tls(self) -> bool:
        return self.security.security_protocol in _TLS

    @property
    def sasl(self) -> bool:
        return self.security.security_protocol in _SASL

    def password(self) -> str | None:
        """The SASL password, read from its file at each use so a rotated file is picked up."""
        sec = self.security
        if sec.password is not None:
            return sec.password.get_secret_value()
        if sec.password_file is not None:
            try:
                return sec.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                from seabus.schemas.errors import ConfigError

                raise ConfigError(
                    f"the Kafka password file {sec.password_file} cannot be read ({exc.strerror}); "
                    "fix SEABUS_KAFKA__PASSWORD_FILE"
                ) from exc
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """A TLS context verifying the broker (and presenting our certificate for mutual TLS)."""
        if not self.tls:
            return None
        sec = self.security
        context = ssl.create_default_context(cafile=str(sec.ca_file) if sec.ca_file else None)
        context.check_hostname = sec.check_hostname
        if sec.cert_file is not None and sec.key_file is not None:
            context.load_cert_chain(certfile=str(sec.cert_file), keyfile=str(sec.key_file))
        return context

    def describe(self) -> dict[str, str | None]:
        """What may be logged or printed: never the password."""
        return {
            "bootstrap": self.bootstrap,
            "security_protocol": self.security.security_protocol,
            "sasl_mechanism": self.security.sasl_mechanism,
            "username": self.security.username,
        }

    def env(self) -> dict[str, str]:
        """``SEABUS_*`` variables that give a child process this same connection.

        A password held in memory (it came from SEABUS_KAFKA__PASSWORD) is passed the same
        way, through the environment; a password file is passed by its path.
        """
        sec = self.security
        out = {"SEABUS_BOOTSTRAP": self.bootstrap, "SEABUS_KAFKA__SECURITY_PROTOCOL": sec.security_protocol}
        values: dict[str, object | None] = {
            "SASL_MECHANISM": sec.sasl_mechanism,
            "USERNAME": sec.username,
            "PASSWORD": sec.password.get_secret_value() if sec.password else None,
            "PASSWORD_FILE": sec.password_file,
            "CA_FILE": sec.ca_file,
            "CERT_FILE": sec.cert_file,
            "KEY_FILE": sec.key_file,
        }
        out.update({f"SEABUS_KAFKA__{k}": str(v) for k, v in values.items() if v is not None})
        if not sec.check_hostname:
            out["SEABUS_KAFKA__CHECK_HOSTNAME"] = "false"
        return out

    # -- kafka-python -------------------------------------------------------------------

    def kafka_python_options(self) -> dict[str, Any]:
        """Connection options of kafka-python's clients (producer, consumer, admin): aiokafka's,
        plus kafka-python's own hostname-check switch (aiokafka takes it from the SSL context)."""
        options = self.aiokafka_options()
        if self.tls:
            options["ssl_check_hostname"] = self.security.check_hostname
        return options

    def kafka_producer(self, **options: Any) -> KafkaProducer:
        from kafka import KafkaProducer

        return KafkaProducer(**self.kafka_python_options(), **options)

    def kafka_consumer(self, *topics: str, **options: Any) -> KafkaConsumer:
        from kafka import KafkaConsumer

        return KafkaConsumer(*topics, **self.kafka_python_options(), **options)

    def kafka_admin(self, **options: Any) -> KafkaAdminClient:
        from kafka.admin import KafkaAdminClient

        return KafkaAdminClient(**self.kafka_python_options(), **options)

    # -- aiokafka -----------------------------------------------------------------------

    def aiokafka_options(self) -> dict[str, Any]:
        """Connection options of aiokafka's producer and consumer."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "security_protocol": self.security.security_protocol,
        }
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options["sasl_mechanism"] = self.security.sasl_mechanism
            options["sasl_plain_username"] = self.security.username
            options["sasl_plain_password"] = self.password()
        return options

    def aio_producer(self, **options: Any) -> AIOKafkaProducer:
        from aiokafka import AIOKafkaProducer

        return AIOKafkaProducer(**self.aiokafka_options(), **options)

    def aio_consumer(self, *topics: str, **options: Any) -> AIOKafkaConsumer:
        from aiokafka import AIOKafkaConsumer

        return AIOKafkaConsumer(*topics, **self.aiokafka_options(), **options)

    def aio_reader(self, *topics: str, **options: Any) -> AIOKafkaConsumer:
        """A consumer that reads from the start and belongs to no group: it commits nothing and
        joins no rebalance (read models, look-ups, the bus's checks of its own topics)."""
        return self.aio_consumer(
            *topics, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", **options
        )

    def aio_admin(self, **options: Any) -> AIOKafkaAdminClient:
        from aiokafka.admin import AIOKafkaAdminClient

        return AIOKafkaAdminClient(**self.aiokafka_options(), **options)

    def aio_client(self, **options: Any) -> AIOKafkaClient:
        """aiokafka's low-level client (per-broker metadata requests, deploy/worker_topics.py)."""
        from aiokafka.client import AIOKafkaClient

        return AIOKafkaClient(**self.aiokafka_options(), **options)

    # -- Faust --------------------------------------------------------------------------

    def faust_options(self) -> dict[str, Any]:
        """Faust's ``broker`` URL list and ``broker_credentials`` (used by all its clients)."""
        import faust

        credentials: faust.types.auth.CredentialsT | None = None
        context = self.ssl_context()
        if self.sasl:
            credentials = faust.SASLCredentials(
                username=self.security.username,
                password=self.password(),
                ssl_context=context,
                mechanism=self.security.sasl_mechanism,
            )
        elif context is not None:
            credentials = faust.SSLCredentials(context)
        return {
            "broker": ",".join(f"kafka://{host}" for host in self.servers),
            "broker_credentials": credentials,
        }

    def faust_app(self, app_id: str, **options: Any) -> faust.App:
        import faust

        return faust.App(app_id, **self.faust_options(), **options)
