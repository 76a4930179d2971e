"""structlog, configured once: JSON lines when not on a terminal, readable output on one.

Library logs (Faust, aiokafka, mode) go through the same renderer so an operator
reads one format. Log calls carry allegation and event ids only: confidential
fields (narrative, subjects) are never passed to a logger, and ``redact`` drops
them should one slip into an event dict.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

CONFIDENTIAL_KEYS = frozenset({"narrative", "confidential", "subjects", "subject_ref", "victims"})
_configured = False


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace any confidential key by a marker; a log line must never carry them."""
    for key in CONFIDENTIAL_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def _renderer(json_lines: bool) -> Processor:
    if json_lines:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def configure(*, level: str = "info", json_lines: bool | None = None) -> None:
    """Set up structlog and stdlib logging; later calls only change the level."""
    global _configured
    numeric = logging.getLevelName(level.upper())
    logging.getLogger().setLevel(numeric)
    if _configured:
        return
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json_lines else _noop,
            _renderer(json_lines),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Library chatter (every Faust service logs its start and stop) only when debugging.
    for noisy in ("kafka", "aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(
            numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
        )
    _configured = True


def _noop(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    return event_dict


def handler() -> logging.Handler:
    """The configured root handler, to hand to Faust's worker so it keeps our format."""
    return logging.getLogger().handlers[0]


def logging_config() -> dict[str, Any]:
    """A dictConfig that leaves our root handler in place (Faust's worker applies one)."""
    return {"version": 1, "disable_existing_loggers": False, "incremental": True}


class Summary:
    """Counts logged at info every ``every_s`` seconds, where a line per record would cost too much.

    The per-record lines are at debug; this keeps an operator's info log saying that
    records flow, with counts only (never ids, never content).
    """

    def __init__(self, event: str, *, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.event = event
        self.every_s = every_s
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.since: float | None = None  # the first counts are logged at once: records flow
        self.started = clock()
        self._log = structlog.get_logger("seabus.streams.summary")

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def maybe_log(self) -> bool:
        """Log and reset the counts when ``every_s`` has passed and something was counted."""
        now = self.clock()
        if self.since is not None and now - self.since < self.every_s:
            return False
        if self.counts:
            since = self.started if self.since is None else self.since
            self._log.info(self.event, seconds=round(now - since, 1), **dict(sorted(self.counts.items())))
        self.counts.clear()
        self.since = now
        return True
