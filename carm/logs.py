"""structlog set-up: one JSON object per event on stderr (or readable lines on a terminal).

`CARM_LOG_FORMAT=json|console` forces one; `CARM_LOG_LEVEL` sets the level; `CARM_LOG_FILE`
appends every event to a file as well (`core.settings`).
"""

from __future__ import annotations

import logging
import sys

import structlog

from core.settings import Settings

__all__ = ["configure", "renders_json"]


class _Tee:
    """Writes to the stream and appends to the log file (each event is one line, written whole)."""

    def __init__(self, stream, path) -> None:
        self._stream = stream
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives as long as the process logs

    def write(self, text: str) -> int:
        self._file.write(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._file.flush()
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()


def renders_json(settings: Settings, stream=None) -> bool:
    """Whether events go out as JSON (forced, or stderr is not a terminal) rather than console lines."""
    return (settings.log_format or ("console" if (stream or sys.stderr).isatty() else "json")) == "json"


def configure(settings: Settings, stream=None) -> None:
    stream = stream or sys.stderr
    if settings.log_file is not None:
        stream = _Tee(stream, settings.log_file)
    fmt = "json" if renders_json(settings, stream) else "console"
    level = getattr(logging, settings.log_level, logging.INFO)
    renderer = structlog.dev.ConsoleRenderer(colors=False) if fmt == "console" else structlog.processors.JSONRenderer(sort_keys=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # pyx12 logs through the standard library; keep its chatter out of the way.
    logging.getLogger("pyx12").setLevel(logging.ERROR)
