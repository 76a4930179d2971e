"""The settings object: a YAML file, overridden by ``SEABUS_*`` environment variables.

Why one object: every command (run, kafka, topics, gateway) must agree on the
cluster, the topic prefix and the data files, and a wrong value must stop start-up
with the file and the key named, not fail later in an agent.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from seabus.schemas.errors import ConfigError
from seabus.streams.config.errors import config_error
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
DEFAULT_CONFIG_FILE = PACKAGE_CONFIG_DIR / "seabus.yaml"


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "seabus"


class TopicSpec(BaseModel):
    """Shape of one topic; unset fields inherit the topic defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partitions: int | None = Field(default=None, ge=1, le=10_000)
    replication_factor: int | None = Field(default=None, ge=1, le=32)
    min_insync_replicas: int | None = Field(default=None, ge=1, le=32)
    retention_ms: int | None = Field(default=None, ge=-1)
    cleanup_policy: Literal["delete", "compact", "compact,delete"] | None = None

    def over(self, base: TopicSpec) -> TopicSpec:
        """This spec with every unset field taken from ``base``."""
        merged = base.model_dump() | {k: v for k, v in self.model_dump().items() if v is not None}
        return TopicSpec(**merged)


class TopicsConfig(BaseModel):
    """Per-topic overrides; ``defaults`` applies to every topic, ``notify`` to each recipient's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: TopicSpec = TopicSpec(
        partitions=6,
        replication_factor=1,
        min_insync_replicas=1,
        retention_ms=-1,
        cleanup_policy="delete",
    )
    allegations: TopicSpec = TopicSpec()
    responses: TopicSpec = TopicSpec()
    escalations: TopicSpec = TopicSpec()
    deadletter: TopicSpec = TopicSpec()
    audit: TopicSpec = TopicSpec()
    obligations: TopicSpec = TopicSpec(cleanup_policy="compact")
    notify: TopicSpec = TopicSpec(partitions=3)
    # One per principal, written only by it (docs/SECURITY.md); the bus forwards what it reads there.
    inbound: TopicSpec = TopicSpec(partitions=1)
    # allegation_id -> owning entity, compacted: what the gateway checks before an update.
    owners: TopicSpec = TopicSpec(cleanup_policy="compact")

    @model_validator(mode="after")
    def _co_partitioned(self) -> TopicsConfig:
        a = self.allegations.over(self.defaults).partitions
        r = self.responses.over(self.defaults).partitions
        if a != r:
            raise ValueError(
                f"allegations has {a} partitions but responses has {r}: they must be equal so one "
                "worker owns an allegation's whole history (co-partitioning); set both to the same value"
            )
        return self


class StatisticsConfig(BaseModel):
    """How ``seabus stats`` and ``/dashboard/stats`` publish (docs/STATISTICS.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Counts from 1 to min_cell - 1 are withheld, with enough others that none can be recomputed.
    min_cell: int = Field(default=3, ge=1, le=1000)


class ViewConfig(BaseModel):
    """Where the on-call view runs (issue 16): the dashboard, /v1/overdue, /v1/stats, a state's own view.

    ``in_worker: true`` (the default) keeps it inside ``seabus run``, so one command
    gives everything; ``false`` takes its reading of the topics off the worker's CPU,
    and ``seabus gateway`` (its own process) serves those routes instead
    (docs/bench-notes/routing.md, "the on-call view", has the cost of each).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_worker: bool = True


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML file named by ``SEABUS_CONFIG`` (or the shipped default)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        raise NotImplementedError  # __call__ below is used instead

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            raise ConfigError(
                f"{self.path}: configuration file not found. Set SEABUS_CONFIG to an existing file "
                "or unset it to use the shipped defaults."
            )
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.path}: not valid YAML ({exc}). Fix the syntax.") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}: the top level must be a mapping of settings.")
        kafka = data.get("kafka")
        if isinstance(kafka, dict) and kafka.get("password") is not None:
            raise ConfigError(
                f"{self.path}: kafka.password must not be written in a configuration file. Put the "
                "password in a file named by kafka.password_file, or in SEABUS_KAFKA__PASSWORD."
            )
        return data


class Settings(BaseSettings):
    """Everything the bus needs to know before it touches Kafka."""

    model_config = SettingsConfigDict(
        env_prefix="SEABUS_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    config_file: Path = DEFAULT_CONFIG_FILE
    bootstrap: str | None = None
    kafka: KafkaSecurity = KafkaSecurity()  # TLS and SASL of the cluster at `bootstrap`
    topic_prefix: str = Field(default="sea", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    app_id: str = Field(default="seabus", pattern=r"^[A-Za-z0-9_.-]+$")
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state"))
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache"))
    local_kafka_nodes: Literal[1, 3] = 1
    local_kafka_port: int = Field(default=19092, ge=1024, le=65000)
    local_kafka_insecure: bool = False  # plaintext, no authentication: only when asked for
    topics: TopicsConfig = TopicsConfig()
    recipients_file: Path = Path("recipients.yaml")
    routes_file: Path = Path("routes.yaml")
    policies_file: Path = Path("policies.yaml")
    reporting_entities_file: Path | None = None  # None: the list shipped in schemas/
    max_message_bytes: int = Field(default=1_000_000, ge=10_000, le=50_000_000)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    tick_interval_s: float = Field(default=0.5, gt=0.0, le=5.0)
    table_store: Literal["rocksdb", "memory"] = "rocksdb"
    bulk_restore_min_records: int = Field(default=10_000, ge=0)
    consumer_session_timeout_s: float = Field(default=10.0, ge=6.0, le=300.0)
    progress_check_interval_s: float = Field(default=2.0, gt=0.0, le=60.0)
    progress_stall_s: float = Field(default=5.0, gt=0.0, le=600.0)
    not_ready_after_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    # how long `seabus run` waits for every broker to report the worker's topics (issue 16)
    topic_metadata_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    statistics: StatisticsConfig = StatisticsConfig()
    view: ViewConfig = ViewConfig()

    @field_validator("bootstrap")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None

    @model_validator(mode="after")
    def _no_silent_plaintext(self) -> Settings:
        """Secure by default: a cluster off this machine is never spoken to in PLAINTEXT unless asked.

        ``KafkaSecurity`` defaults to PLAINTEXT (right for a broker on loopback); a
        remote ``bootstrap`` without ``kafka.security_protocol`` is far more likely a
        forgotten setting than a choice, and would send the narrative in clear text.
        """
        if self.bootstrap and "security_protocol" not in self.kafka.model_fields_set:
            remote = [h for h in self.bootstrap.split(",") if not _on_loopback(h)]
            if remote:
                raise ValueError(
                    f"bootstrap {remote[0].strip()} is not on this machine but kafka.security_protocol is "
                    "not set, and seabus does not fall back to PLAINTEXT silently. Set "
                    "SEABUS_KAFKA__SECURITY_PROTOCOL=SASL_SSL (with SEABUS_KAFKA__SASL_MECHANISM, "
                    "SEABUS_KAFKA__USERNAME and SEABUS_KAFKA__PASSWORD_FILE; docs/SECURITY.md), or PLAINTEXT "
                    "explicitly on a network you trust"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("SEABUS_CONFIG") or DEFAULT_CONFIG_FILE)
        return (init_settings, env_settings, _YamlSource(settings_cls, path))

    def resolve(self, name: Path) -> Path:
        """A data file path: a relative one from the config file's folder, else from the current directory.

        Paths in the YAML are relative to its folder; a path typed in a shell
        (``SEABUS_POLICIES_FILE=deploy/config/policies.demo.yaml``) is relative to
        where it was typed. The config folder wins when both exist.
        """
        if name.is_absolute():
            return name
        beside_config = self.config_file.parent / name
        if not beside_config.exists() and name.exists():
            return name.resolve()
        return beside_config

    def topic(self, name: str) -> str:
        """Full topic name with the configured prefix (e.g. ``sea.allegations``)."""
        return f"{self.topic_prefix}.{name}"

    def notify_topic(self, recipient: str) -> str:
        return self.topic(f"notify.{recipient}")

    def inbound_topic(self, principal: str) -> str:
        """Where ``principal`` (an agency or a recipient) writes; only it may (docs/SECURITY.md)."""
        return self.topic(f"inbound.{principal}")

    def connection(self) -> KafkaConnection:
        """The configured cluster and how to reach it (the local cluster has its own: deploy.kafka)."""
        if self.bootstrap is None:
            raise ConfigError(
                "no Kafka cluster is configured (SEABUS_BOOTSTRAP is empty); start the local one with "
                "`seabus kafka up` or set SEABUS_BOOTSTRAP"
            )
        files = ("password_file", "ca_file", "cert_file", "key_file")
        # Relative paths, like the data files: from the config file's folder, else the current directory.
        found = {f: self.resolve(p) for f in files if (p := getattr(self.kafka, f)) is not None}
        return KafkaConnection(bootstrap=self.bootstrap, security=self.kafka.model_copy(update=found))

    @property
    def local_kafka(self) -> bool:
        """True when no cluster is configured and the bus starts its own."""
        return self.bootstrap is None


def _on_loopback(address: str) -> bool:
    """``host:port`` (or ``[v6]:port``) names this machine."""
    host = address.strip().rsplit(":", 1)[0].strip("[]") if ":" in address else address.strip()
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning every validation problem into one ConfigError."""
    path = Path(os.environ.get("SEABUS_CONFIG") or DEFAULT_CONFIG_FILE)
    try:
        return Settings(config_file=path, **overrides)
    except ValidationError as exc:
        raise config_error(f"{path} (or SEABUS_* environment)", exc) from exc
