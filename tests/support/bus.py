"""Run the real bus (`seabus run`) in a subprocess and talk to it through Kafka.

Every :class:`BusProcess` runs in a process group of its own and is recorded here
until it has been stopped, so nothing a test starts can outlive it:

- :class:`BusPool` (and the ``buses`` fixture of ``tests/conftest.py``) starts
  processes and, on leaving, interrupts them and SIGKILLs their process groups;
- ``tests/conftest.py`` also stops whatever a test left running at its end, and
  everything still running when the session ends (and :mod:`atexit` does too).

stderr goes to a file, never to a pipe: a chatty bus can never stall on a full pipe
however slowly (or not at all) the test reads it. ``lines`` and ``saw`` read the file.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from kafka import KafkaProducer

from seabus.streams.kafka_connection import KafkaConnection
from support import bus_env, wait_for
from support.reading import read_all, read_topic

__all__ = [
    "BusPool",
    "BusProcess",
    "live_buses",
    "producer",
    "read_all",
    "read_topic",
    "start_bus",
    "stop_buses",
]

_LIVE: dict[int, BusProcess] = {}  # pid -> every BusProcess not yet stopped, in start order
_LIVE_LOCK = threading.Lock()


def _log_dir(env: dict[str, str]) -> Path:
    data = env.get("SEABUS_DATA_DIR")
    directory = Path(data).parent if data else Path(tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class BusProcess:
    """`seabus run` (or another ``seabus`` command) with its stderr collected line by line."""

    def __init__(self, env: dict[str, str], *, args: tuple[str, ...] = ("run",)) -> None:
        self.env = env
        self.args = args
        fd, path = tempfile.mkstemp(
            prefix=f"seabus-{args[0] if args else 'cli'}-", suffix=".stderr.log", dir=_log_dir(env)
        )
        self.log_path = Path(path)
        with os.fdopen(fd, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "seabus.deploy.cli.main", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group: stopped as one, by its id
            )
        self._stopped = False
        self._interrupted = False
        self._lines: list[str] = []
        self._read_to = 0
        self._partial = b""
        self._read_lock = threading.Lock()
        with _LIVE_LOCK:
            _LIVE[self.proc.pid] = self

    def __repr__(self) -> str:
        return f"BusProcess(pid={self.proc.pid}, args={self.args!r}, returncode={self.proc.returncode})"

    def __enter__(self) -> BusProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- stderr ------------------------------------------------------------------------------

    @property
    def lines(self) -> list[str]:
        """Every complete stderr line so far (with its newline)."""
        with self._read_lock:
            with self.log_path.open("rb") as f:
                f.seek(self._read_to)
                chunk = f.read()
            self._read_to += len(chunk)
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            self._lines.extend(line.decode(errors="replace") + "\n" for line in complete)
            return list(self._lines)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def tail(self, count: int = 40) -> str:
        return "".join(self.lines[-count:])

    # -- life cycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float = 120) -> None:
        wait_for(
            lambda: self.saw("seabus worker ready") or self.proc.poll() is not None,
            timeout=timeout,
            what="worker ready",
        )
        if self.proc.poll() is not None:
            raise AssertionError("bus exited during start-up:\n" + self.tail())

    def _sigint(self) -> None:
        """One Ctrl-C (a second one could mean "force" to the bus)."""
        if not self._interrupted and self.proc.poll() is None:
            self._interrupted = True
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)

    def interrupt(self, timeout: float = 120) -> int:
        """Ctrl-C and wait for the exit code; killed (and an error) if it does not stop in time."""
        self._sigint()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(grace=0)
            raise AssertionError(
                f"bus did not stop within {timeout}s of SIGINT; killed it:\n" + self.tail()
            ) from None
        self._finish()
        return code

    def stop_cleanly(self, timeout: float = 120) -> None:
        """Ctrl-C and require exit code 0; otherwise an error that shows why (its last log lines)."""
        code = self.interrupt(timeout=timeout)
        if code != 0:
            raise AssertionError(f"bus exited with code {code} after SIGINT:\n" + self.tail(80))

    def kill(self) -> None:
        """SIGKILL the worker itself (a crash, no clean shutdown); the rest of its group is
        stopped by :meth:`stop` when the test ends."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, *, grace: float = 20.0) -> int | None:
        """Whatever state it is in: SIGINT, after ``grace`` seconds SIGKILL to its whole
        process group, then reap it. Safe to call more than once."""
        if self.proc.poll() is None and grace > 0:
            self._sigint()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        self._finish()
        return self.proc.returncode

    def _finish(self) -> None:
        """SIGKILL what is left of the process group (the worker, and anything it started in
        it), reap the worker, and forget it."""
        if self._stopped:
            return
        # The group id is the worker's pid; while any member lives the id cannot be reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        self._stopped = True
        with _LIVE_LOCK:
            _LIVE.pop(self.proc.pid, None)


def live_buses() -> list[BusProcess]:
    """Every BusProcess started and not yet stopped (a crashed one counts until stopped)."""
    with _LIVE_LOCK:
        return list(_LIVE.values())


def stop_buses(buses: list[BusProcess] | None = None, *, grace: float = 10.0) -> list[BusProcess]:
    """Stop ``buses`` (default: all live ones); returns those that were still running."""
    targets = live_buses() if buses is None else buses
    running = [b for b in targets if b.running]
    for bus in running:  # interrupt them all first, so they shut down side by side
        bus._sigint()
    deadline = time.monotonic() + grace
    for bus in targets:
        bus.stop(grace=max(0.0, deadline - time.monotonic()))
    return running


atexit.register(stop_buses, grace=5.0)


class BusPool:
    """Starts bus processes and stops every one of them on leaving, whatever happened."""

    def __init__(self) -> None:
        self.processes: list[BusProcess] = []

    def spawn(self, env: dict[str, str], *, args: tuple[str, ...] = ("run",)) -> BusProcess:
        """A process, not waited for."""
        process = BusProcess(env, args=args)
        self.processes.append(process)
        return process

    def start(self, kafka: KafkaConnection, prefix: str, data_dir: Path, **extra: object) -> BusProcess:
        """`seabus run` for this prefix, once it says it is ready."""
        process = self.spawn(bus_env(kafka=kafka, prefix=prefix, data_dir=data_dir, **extra))
        process.wait_ready()
        return process

    def stop_all(self) -> None:
        stop_buses(self.processes)

    def __enter__(self) -> BusPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


def start_bus(kafka: KafkaConnection, prefix: str, data_dir: Path, **extra: object) -> BusProcess:
    """`seabus run`, ready. Stopped here if it never gets ready; otherwise the caller's to stop
    (a BusPool does it for you; the conftest safety net stops it at the end of the test)."""
    bus = BusProcess(bus_env(kafka=kafka, prefix=prefix, data_dir=data_dir, **extra))
    try:
        bus.wait_ready()
    except BaseException:
        bus.stop(grace=5)
        raise
    return bus


def producer(kafka: KafkaConnection) -> KafkaProducer:
    return kafka.kafka_producer(acks="all", enable_idempotence=True, linger_ms=2)
