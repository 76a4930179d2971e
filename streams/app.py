"""The Faust application: wiring only. Agents live in their own modules and call pure logic.

Processing guarantee is at-least-once with idempotent ids downstream; Faust's
exactly-once mode is deliberately not used (see DESIGN: ids make redelivery
recognisable instead).
"""

from __future__ import annotations

from typing import Any

import faust

from seabus.streams import faust_compat
from seabus.streams.agents.deadlines import register_deadlines
from seabus.streams.agents.inbound import register_inbound
from seabus.streams.agents.intake import register_intake
from seabus.streams.agents.responses import register_responses
from seabus.streams.agents.sources import register_progress
from seabus.streams.config.settings import Settings
from seabus.streams.context import BusContext
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.stores import store_url


def create_app(
    settings: Settings, *, kafka: KafkaConnection, context: BusContext | None = None, **overrides: Any
) -> faust.App:
    """A configured app with its agents; nothing connects until a worker starts it."""
    cfg = settings.topics
    core = cfg.allegations.over(cfg.defaults)
    options: dict[str, Any] = {
        "store": store_url(settings.table_store),
        "topic_partitions": core.partitions,
        "topic_replication_factor": core.replication_factor,
        "topic_allow_declare": True,
        "topic_disable_leader": False,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "producer_enable_idempotence": True,
        # Measured and stated in docs/BENCHMARKS.md (issue 16); acks stay all whatever these say.
        "producer_linger": settings.producer.linger_ms / 1000.0,
        "producer_max_batch_size": settings.producer.max_batch_size,
        "producer_compression_type": (
            None if settings.producer.compression_type == "none" else settings.producer.compression_type
        ),
        "processing_guarantee": "at_least_once",
        "web_enabled": True,
        # Faust's table views would serve allegation state to anyone on the port.
        "web_tables_enabled": False,
        "web_bind": settings.web_host,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_in_thread": False,
        "table_cleanup_interval": 60.0,
        "broker_commit_every": 100,
        # A crashed worker's partitions move on after this; Faust's 60 s default
        # would leave a dead worker's allegations unrouted for a minute.
        "broker_session_timeout": settings.consumer_session_timeout_s,
        "broker_heartbeat_interval": max(1.0, settings.consumer_session_timeout_s / 4),
        "broker_commit_interval": 1.0,
        "stream_wait_empty": True,
        "datadir": str(settings.data_dir / "faust" / settings.app_id),
    }
    options.update(overrides)
    faust_compat.install_patches()
    # Faust creates only the last path component of its data dir.
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = kafka.faust_app(settings.app_id, **options)  # broker URLs and credentials (TLS, SASL)
    if context is not None:
        progress = register_progress(app, context, kafka=kafka)
        deadlines = register_deadlines(app, context)
        register_intake(app, context, progress, deadlines)
        register_responses(app, context, progress, deadlines)
        register_inbound(app, context, kafka=kafka)
    return app
