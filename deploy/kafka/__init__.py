"""A local Apache Kafka (KRaft) cluster from Maven Central jars, for dev, demos and tests.

Secured by default (SASL_SSL + SCRAM-SHA-512, the StandardAuthorizer; docs/SECURITY.md):
``LocalCluster.connection()`` is how the bus and the tests reach it.
"""

from seabus.deploy.kafka.launcher import ClusterInfo, LocalCluster, status_of
from seabus.deploy.kafka.layout import KAFKA_VERSION

__all__ = ["KAFKA_VERSION", "ClusterInfo", "LocalCluster", "status_of"]
