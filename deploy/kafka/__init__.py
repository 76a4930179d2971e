"""A local Apache Kafka (KRaft) cluster from Maven Central jars, for dev, demos and tests."""

from deploy.kafka.launcher import ClusterInfo, LocalCluster, status_of
from deploy.kafka.layout import KAFKA_VERSION

__all__ = ["KAFKA_VERSION", "ClusterInfo", "LocalCluster", "status_of"]
