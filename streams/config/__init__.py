"""Configuration of the bus: one settings object plus the data files it names."""

from seabus.streams.config.settings import Settings, TopicSpec, load_settings

__all__ = ["Settings", "TopicSpec", "load_settings"]
