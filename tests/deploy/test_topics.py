"""Topic provisioning against the real broker: create, idempotence, refusals."""

from __future__ import annotations

import pytest

from seabus.deploy import topics as provisioning
from seabus.schemas.errors import ConfigError, ProvisioningError
from seabus.streams.config import Settings, load_settings
from seabus.streams.config.settings import TopicsConfig, TopicSpec
from seabus.streams.kafka_connection import KafkaConnection
from seabus.streams.origin import principals


def _with_topics(settings: Settings, **specs: TopicSpec) -> Settings:
    topics = TopicsConfig(**({"defaults": settings.topics.defaults} | specs))
    return settings.model_copy(update={"topics": topics})


@pytest.mark.kafka
def test_apply_creates_every_contract_topic_with_its_configs(
    settings: Settings, kafka: KafkaConnection
) -> None:
    result = provisioning.apply(settings, ["OSC", "FRA", "VRA", "OIOS"], kafka=kafka)
    names = {t.name for t in result.create}
    p = settings.topic_prefix
    inbound = {n for n in names if n.startswith(f"{p}.inbound.")}
    # One inbound topic per principal: each recipient and each reporting entity, once (OIOS is both).
    assert inbound == {f"{p}.inbound.{x}" for x in principals(settings, ["OSC", "FRA", "VRA", "OIOS"])}
    assert {f"{p}.inbound.OSC", f"{p}.inbound.FRA", f"{p}.inbound.MINUSCA", f"{p}.inbound.OIOS"} <= inbound
    assert names - inbound == {
        f"{p}.allegations",
        f"{p}.responses",
        f"{p}.escalations",
        f"{p}.deadletter",
        f"{p}.audit",
        f"{p}.obligations",
        f"{p}.owners",
        f"{p}.notify.OSC",
        f"{p}.notify.FRA",
        f"{p}.notify.VRA",
        f"{p}.notify.OIOS",
    }
    admin = kafka.kafka_admin()
    observed = provisioning.observe(admin, sorted(names))
    admin.close()
    assert observed[f"{p}.allegations"].partitions == 6
    assert observed[f"{p}.notify.FRA"].partitions == 3
    assert observed[f"{p}.allegations"].configs["retention.ms"] == "-1"
    assert observed[f"{p}.allegations"].configs["cleanup.policy"] == "delete"
    assert observed[f"{p}.allegations"].configs["min.insync.replicas"] == "1"
    assert observed[f"{p}.obligations"].configs["cleanup.policy"] == "compact"
    assert observed[f"{p}.owners"].configs["cleanup.policy"] == "compact"
    assert observed[f"{p}.inbound.MINUSCA"].partitions == 1


@pytest.mark.kafka
def test_second_apply_changes_nothing(settings: Settings, kafka: KafkaConnection) -> None:
    provisioning.apply(settings, ["OSC", "FRA"], kafka=kafka)
    again = provisioning.apply(settings, ["OSC", "FRA"], kafka=kafka)
    assert again.empty
    assert again.describe() == []
    # 7 core topics, 2 notify topics, one inbound topic per principal
    assert len(again.unchanged) == 7 + 2 + len(principals(settings, ["OSC", "FRA"]))


@pytest.mark.kafka
def test_config_change_and_growth_are_applied(settings: Settings, kafka: KafkaConnection) -> None:
    provisioning.apply(settings, ["OSC"], kafka=kafka)
    changed = _with_topics(
        settings,
        deadletter=TopicSpec(retention_ms=7 * 24 * 3600 * 1000),
        notify=TopicSpec(partitions=5),
    )
    result = provisioning.apply(changed, ["OSC"], kafka=kafka)
    assert result.alter_configs == [(f"{settings.topic_prefix}.deadletter", {"retention.ms": "604800000"})]
    assert result.add_partitions == [(f"{settings.topic_prefix}.notify.OSC", 3, 5)]
    assert provisioning.apply(changed, ["OSC"], kafka=kafka).empty


@pytest.mark.kafka
def test_shrinking_is_refused_and_nothing_changes(settings: Settings, kafka: KafkaConnection) -> None:
    provisioning.apply(settings, ["OSC"], kafka=kafka)
    smaller = _with_topics(
        settings, escalations=TopicSpec(partitions=2), deadletter=TopicSpec(retention_ms=1000)
    )
    with pytest.raises(ProvisioningError) as err:
        provisioning.apply(smaller, ["OSC"], kafka=kafka)
    message = str(err.value)
    assert f"{settings.topic_prefix}.escalations has 6 partitions" in message
    assert "cannot remove partitions" in message
    admin = kafka.kafka_admin()
    observed = provisioning.observe(admin, [settings.topic("deadletter")])
    admin.close()
    assert (
        observed[settings.topic("deadletter")].configs["retention.ms"] == "-1"
    )  # the refusal changed nothing


@pytest.mark.kafka
def test_growing_allegation_partitions_is_refused(settings: Settings, kafka: KafkaConnection) -> None:
    provisioning.apply(settings, ["OSC"], kafka=kafka)
    grown = _with_topics(settings, allegations=TopicSpec(partitions=8), responses=TopicSpec(partitions=8))
    with pytest.raises(ProvisioningError, match="would move allegations to other partitions"):
        provisioning.apply(grown, ["OSC"], kafka=kafka)


def test_unequal_allegation_and_response_partitions_fail_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEABUS_TOPICS__RESPONSES__PARTITIONS", "4")
    with pytest.raises(
        ConfigError, match=r"allegations has 6 partitions but responses has 4.*co-partitioning"
    ):
        load_settings()


@pytest.mark.kafka
def test_min_isr_above_replication_is_refused(settings: Settings, kafka: KafkaConnection) -> None:
    bad = _with_topics(settings, audit=TopicSpec(min_insync_replicas=2))
    with pytest.raises(ProvisioningError, match="min_insync_replicas 2 exceeds replication_factor 1"):
        provisioning.apply(bad, ["OSC"], kafka=kafka)


def test_unreachable_cluster_is_a_clear_error(settings: Settings) -> None:
    from seabus.schemas.errors import KafkaUnavailable

    with pytest.raises(KafkaUnavailable, match=r"cannot reach Kafka at 127\.0\.0\.1:9"):
        # The same path as the default 30 s bootstrap wait, bounded shorter (nothing listens there).
        provisioning.apply(
            settings, ["OSC"], kafka=KafkaConnection(bootstrap="127.0.0.1:9"), connect_timeout_s=2.0
        )
