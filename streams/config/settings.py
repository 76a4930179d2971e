"""The one settings tree: seabus.yaml, the section files it names, then ``SEABUS_*`` variables.

Why one object: every command (run, kafka, topics, gateway) must agree on the
cluster, the topic prefix, the data files and the gateway, delivery and dashboard
sections, and a wrong value must stop start-up with the file and the key named, not
fail later in an agent. One environment convention for all of it:
``SEABUS_<KEY>``, nested keys with ``__`` (``SEABUS_GATEWAY__PORT``,
``SEABUS_DELIVERY__SMTP__HOST``), one ``SEABUS_<NAME>_FILE`` per data file. A variable
of the old conventions stops start-up naming its new name (:data:`RENAMED_ENV`).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from seabus.schemas.errors import ConfigError
from seabus.streams.config.errors import config_error
from seabus.streams.config.sections import (
    SECTION_FILES,
    DashboardConfig,
    DeliveryConfig,
    GatewayConfig,
    read_section_file,
    validate_section,
)
from seabus.streams.kafka_connection import KafkaConnection, KafkaSecurity

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
DEFAULT_CONFIG_FILE = PACKAGE_CONFIG_DIR / "seabus.yaml"
CONFIG_ENV = "SEABUS_CONFIG"

RENAMED_ENV: dict[str, str] = {
    **{f"SEABUS_GATEWAY_{k}": f"SEABUS_GATEWAY__{k}" for k in ("HOST", "PORT", "ENABLED", "PUBLIC_URL")},
    **{f"SEABUS_SMTP_{k}": f"SEABUS_DELIVERY__SMTP__{k}" for k in ("HOST", "PORT", "STARTTLS", "USERNAME")},
    "SEABUS_SMTP_FROM": "SEABUS_DELIVERY__SMTP__FROM_ADDRESS",
    "SEABUS_SMTP_PASSWORD": "SEABUS_DELIVERY__SMTP__PASSWORD",
    "SEABUS_ONCALL_WEBHOOK_URL": "SEABUS_DELIVERY__ONCALL__WEBHOOK__URL",
    "SEABUS_ONCALL_WEBHOOK_ALLOW_PRIVATE": "SEABUS_DELIVERY__ONCALL__WEBHOOK__ALLOW_PRIVATE",
    "SEABUS_ONCALL_EMAIL_TO": "SEABUS_DELIVERY__ONCALL__EMAIL__TO",
    "SEABUS_REPORTING_ENTITIES": "SEABUS_REPORTING_ENTITIES_FILE",
}
"""Variables of the conventions before the one tree, and the name that replaced each.

Set, they would be ignored (no field reads them), so start-up stops and names the new one.
``SEABUS_GATEWAY_FILE``, ``SEABUS_DELIVERY_FILE`` and ``SEABUS_DASHBOARD_FILE`` are not
here: they are the new convention's names of ``gateway_file`` and the like.
"""


def config_path() -> Path:
    """The root file: ``$SEABUS_CONFIG``, else the shipped seabus.yaml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)


def check_renamed_env() -> None:
    """Stop on a variable of an old convention, naming its new name (never its value)."""
    found = sorted(old for old in RENAMED_ENV if old in os.environ)
    if found:
        renames = ", ".join(f"{old} -> {RENAMED_ENV[old]}" for old in found)
        raise ConfigError(
            f"environment: {renames}: renamed (one convention, SEABUS_<SECTION>__<KEY>; CHANGELOG.md). "
            "Set the new name instead and unset the old one."
        )


def resolve_path(config_file: Path, name: Path) -> Path:
    """A data file path: a relative one from the config file's folder, else from the current directory.

    Paths in the YAML are relative to its folder; a path typed in a shell
    (``SEABUS_POLICIES_FILE=deploy/config/policies.demo.yaml``) is relative to
    where it was typed. The config folder wins when both exist.
    """
    if name.is_absolute():
        return name
    beside_config = config_file.parent / name
    if not beside_config.exists() and name.exists():
        return name.resolve()
    return beside_config


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

    ``in_worker: false`` (the default) takes its reading of the topics off the worker's
    CPU: with ``child_process: true`` (the default) ``seabus run`` starts it in a child
    process of its own, supervised and stopped with it, behind the same gateway URL
    (deploy/view_process.py); with ``child_process: false`` ``seabus run`` serves no
    view and ``seabus gateway`` (its own process) serves those routes instead.
    ``in_worker: true`` keeps it inside the worker's process, as before issue 16
    (docs/bench-notes/routing.md, "the on-call view", has the cost of each).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    in_worker: bool = False
    child_process: bool = True

    @property
    def in_child(self) -> bool:
        """``seabus run`` starts the view in a child process."""
        return not self.in_worker and self.child_process


class ProducerConfig(BaseModel):
    """The worker's Faust producer (issue 16): how long and how much it batches, and compression.

    Acknowledgements stay ``acks=all`` with the idempotent producer whatever these say;
    an agent's progress still moves only after every output of its batch is acknowledged.
    The values are measured and stated in docs/BENCHMARKS.md ("The worker's process, its
    event loop and its producer"). ``gzip`` is the only codec without another dependency (aiokafka's lz4, snappy
    and zstd need cramjam).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    linger_ms: int = Field(default=5, ge=0, le=1000)
    max_batch_size: int = Field(default=16384, ge=1024, le=16_000_000)
    compression_type: Literal["none", "gzip"] = "none"


class _MainYaml(YamlConfigSettingsSource):
    """pydantic-settings' YAML source over seabus.yaml, with the messages start-up always gave."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        if not path.exists():
            raise ConfigError(
                f"{path}: configuration file not found. Set {CONFIG_ENV} to an existing file "
                "or unset it to use the shipped defaults."
            )
        self.path = path
        super().__init__(settings_cls, yaml_file=path, yaml_file_encoding="utf-8")

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
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
        delivery = data.get("delivery")
        smtp = delivery.get("smtp") if isinstance(delivery, dict) else None
        if isinstance(smtp, dict) and smtp.get("password") is not None:  # an inline delivery section
            raise ConfigError(
                f"{self.path}: delivery.smtp.password must not be written in a configuration file. Put it "
                "in SEABUS_DELIVERY__SMTP__PASSWORD."
            )
        return data


class _SectionFiles(PydanticBaseSettingsSource):
    """The lowest source: each section's own file, found with what the sources above said.

    It runs last, so its ``current_state`` already holds the code's, the environment's and
    seabus.yaml's values (``config_file``, ``gateway_file``, ...); pydantic-settings then
    merges those over the file's content key by key, and the section validators check the
    result with the file named.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        raise NotImplementedError  # __call__ below is used instead

    def __call__(self) -> dict[str, Any]:
        state = self.current_state
        config_file = Path(state.get("config_file") or config_path())
        out: dict[str, Any] = {}
        for section, default in SECTION_FILES.items():
            if isinstance(state.get(section), BaseModel):
                continue  # given whole (in code): no file
            name = Path(state.get(f"{section}_file") or default)
            out[section] = read_section_file(section, resolve_path(config_file, name))
        return out


class Settings(BaseSettings):
    """Everything the bus needs to know before it touches Kafka."""

    model_config = SettingsConfigDict(
        env_prefix="SEABUS_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    config_file: Path = Field(default_factory=config_path)
    bootstrap: str | None = None
    kafka: KafkaSecurity = KafkaSecurity()  # TLS and SASL of the cluster at `bootstrap`
    topic_prefix: str = Field(default="sea", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    app_id: str = Field(default="seabus", pattern=r"^[A-Za-z0-9_.-]+$")
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state"))
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache"))
    local_kafka_nodes: Literal[1, 3] = 1
    local_kafka_port: int = Field(default=19092, ge=1024, le=65000)
    local_kafka_insecure: bool = False  # plaintext, no authentication: only when asked for
    # the local broker JVM's options besides heap and classpath (deploy/kafka/layout.py explains
    # the default; the test suite's short-lived brokers run with half the CPU on SerialGC and C1)
    local_kafka_jvm_options: tuple[str, ...] = ("-XX:+UseG1GC",)
    topics: TopicsConfig = TopicsConfig()
    recipients_file: Path = Path("recipients.yaml")
    routes_file: Path = Path("routes.yaml")
    policies_file: Path = Path("policies.yaml")
    reporting_entities_file: Path | None = None  # None: the list shipped in schemas/
    gateway_file: Path = SECTION_FILES["gateway"]
    delivery_file: Path = SECTION_FILES["delivery"]
    dashboard_file: Path = SECTION_FILES["dashboard"]
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
    producer: ProducerConfig = ProducerConfig()
    # the worker's event loop: asyncio's own, or uvloop (measured, not cheaper here: docs/BENCHMARKS.md)
    event_loop: Literal["uvloop", "asyncio"] = "asyncio"
    # The sections, each from its file (above) under SEABUS_<SECTION>__<KEY>; declared last so
    # their validators see the file names. gateway None: its file does not exist (gateway_config()).
    gateway: GatewayConfig | None = None
    delivery: DeliveryConfig = DeliveryConfig()
    dashboard: DashboardConfig = DashboardConfig()

    @field_validator("gateway", "delivery", "dashboard", mode="before")
    @classmethod
    def _section(cls, value: Any, info: ValidationInfo) -> Any:
        """A section's merged mapping checked with its file named, in the file's own error class."""
        if not isinstance(value, dict):
            return value  # a model given in code, or something validation will name
        section = str(info.field_name)
        return validate_section(section, value, _section_source(info.data, section))

    @field_validator("local_kafka_jvm_options")
    @classmethod
    def _jvm_options_only(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        """JVM options (-X..., -D...), never a classpath, main class or agent smuggled in."""
        for option in v:
            if not option.startswith(("-X", "-D")) or option.startswith(("-Xbootclasspath", "-Xrun")):
                raise ValueError(
                    f"{option!r} is not a JVM option seabus passes to the local broker: give -X... or "
                    "-D... options only (the heap, classpath and main class are set by seabus), e.g. "
                    '["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]'
                )
        return v

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
        check_renamed_env()
        return (
            init_settings,
            env_settings,
            _MainYaml(settings_cls, config_path()),
            _SectionFiles(settings_cls),
        )

    def resolve(self, name: Path) -> Path:
        """A data file path: a relative one from the config file's folder, else from the current directory."""
        return resolve_path(self.config_file, name)

    def section_file(self, section: str) -> Path:
        """Where a section (gateway, delivery, dashboard) was read from."""
        return self.resolve(Path(getattr(self, f"{section}_file")))

    @property
    def reporting_entities_path(self) -> Path | None:
        """The configured reporting entities file, or None for the list shipped in schemas/."""
        name = self.reporting_entities_file
        return self.resolve(name) if name else None

    def gateway_config(self) -> GatewayConfig:
        """The gateway section; a missing gateway file stops whatever needs the gateway, as it always did."""
        if self.gateway is None:
            from seabus.connectors.publisher.errors import GatewayConfigError

            raise GatewayConfigError(
                f"{self.section_file('gateway')}: cannot read the gateway configuration (No such file or "
                "directory). Create it from deploy/config/gateway.yaml or set SEABUS_GATEWAY_FILE."
            )
        return self.gateway

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


def _section_source(data: dict[str, Any], section: str) -> Path:
    config_file = Path(data.get("config_file") or config_path())
    return resolve_path(config_file, Path(data.get(f"{section}_file") or SECTION_FILES[section]))


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
    """Build the one tree, reading every file once; every problem becomes one ConfigError."""
    path = config_path()
    try:
        return Settings(config_file=path, **overrides)
    except ValidationError as exc:
        raise config_error(f"{path} (or SEABUS_* environment)", exc) from exc
    except SettingsError as exc:  # a SEABUS_* value that is not the JSON its key needs
        raise ConfigError(f"SEABUS_* environment: {exc}. Fix the variable's value.") from exc


def load_section(section: str, path: Path) -> BaseModel | None:
    """One section read from ``path`` with its ``SEABUS_<SECTION>__*`` overrides (and no other file).

    For what reads a section file again later (the dashboard's users, on change) or a
    file given on the command line; start-up reads them all in :func:`load_settings`.
    """
    from pydantic_settings import EnvSettingsSource

    check_renamed_env()
    env = EnvSettingsSource(Settings)().get(section)
    data = read_section_file(section, path)
    return validate_section(section, _merged(data, env) if isinstance(env, dict) else data, path)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``, mapping by mapping (how pydantic-settings merges its sources)."""
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        out[key] = _merged(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return out
