"""Resolve the pinned Kafka broker jars from Maven Central into a cache outside the repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from seabus.deploy.kafka.layout import KAFKA_VERSION
from seabus.schemas.errors import DependencyMissing, KafkaUnavailable

POM = Path(__file__).with_name("pom.xml")
# An explicit plugin version: old Maven versions otherwise pick an ancient default.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"


def require_program(name: str, *, purpose: str) -> str:
    """The program's path, or one sentence saying what to install."""
    path = shutil.which(name)
    if path is None:
        hint = {
            "java": "install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`)",
            "mvn": "install Maven 3.8+ (e.g. `apt-get install maven`)",
        }.get(name, f"install {name}")
        raise DependencyMissing(
            f"`{name}` was not found on PATH; it is needed to {purpose}: {hint}, "
            "or set SEABUS_BOOTSTRAP to an existing Kafka cluster so nothing local is started."
        )
    return path


def lib_dir(cache_dir: Path) -> Path:
    return cache_dir / f"kafka-{KAFKA_VERSION}" / "lib"


def ensure_jars(cache_dir: Path) -> Path:
    """Directory holding the broker classpath; resolved once, reused afterwards."""
    target = lib_dir(cache_dir)
    marker = target / ".complete"
    if marker.exists():
        return target
    mvn = require_program("mvn", purpose="download the Kafka broker from Maven Central")
    require_program("java", purpose="run the local Kafka broker")
    target.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        f"-DoutputDirectory={target}",
        "-DincludeScope=runtime",
        f"-Dkafka.version={KAFKA_VERSION}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise KafkaUnavailable(
            f"Maven could not resolve Apache Kafka {KAFKA_VERSION} (exit {proc.returncode}). "
            f"Check that Maven Central is reachable.\n{tail}"
        )
    marker.write_text(KAFKA_VERSION + "\n")
    return target
