"""Faust agents: thin loops that move bytes between Kafka and the pure logic."""
