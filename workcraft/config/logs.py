"""Logs for people (rich) by default, one JSON object per line when asked."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import sys
import threading

LOG_FORMATS = ("rich", "json", "plain")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_PLAIN_ARGS = (str, int, float, bool, type(None))


class BackgroundHandler(logging.Handler):
    """Hands records to one writer thread, which formats and writes them in batches and
    flushes once per batch. A peon's worker threads log a line per task; with several of
    them, writing each line in place means a system call per line and GIL hand-offs between
    the threads, on the path of every outcome. (With one worker thread the opposite holds:
    waking the writer for each line costs more than the write. See ``configure_logging``.)

    Records are formatted later, in the writer: arguments that are not plain values are
    rendered into the message at once, so a later change to them cannot show up."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target
        self._queue: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and not all(isinstance(arg, _PLAIN_ARGS) for arg in record.args):
            record.msg, record.args = record.getMessage(), None
        self._idle.clear()
        self._queue.put(record)

    def _write(self) -> None:
        while True:
            record = self._queue.get()
            batch = [record]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for item in batch:
                if item is None:
                    self.target.flush()
                    return
                self.target.handle(item)
            self.target.flush()
            if self._queue.empty():
                self._idle.set()

    def flush(self) -> None:
        """Wait (briefly) until every record handed over so far is written."""
        if self._thread.is_alive():
            self._idle.wait(2.0)
        self.target.flush()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(2.0)
        self.target.close()
        super().close()


class _LazyFlushStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that leaves flushing to ``BackgroundHandler`` (once per batch)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)


class _OverrunFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": a sweep
    that outlasts its interval (a big backlog, a slow server) runs again as soon as it ends
    (jobs are coalesced), which is what we want, not something to warn about each tick."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def configure_logging(fmt: str = "rich", level: str = "INFO", writer_thread: bool = False) -> None:
    """Configure the ``workcraft`` logger tree (and the root, for task code that logs).

    ``writer_thread``: lines go to a ``BackgroundHandler``, for processes where several
    threads log at once (a peon with concurrency above 1). Otherwise each line is written
    and flushed by the thread that logs it: no thread to wake, nothing waiting in a buffer
    when the process is killed. (A concurrency-1 peon drained no-op tasks about a third
    faster this way; at concurrency 8 the writer thread was as fast or faster.)"""
    stream: type[logging.StreamHandler] = (  # type: ignore[type-arg]
        _LazyFlushStream if writer_thread else logging.StreamHandler
    )
    handler: logging.Handler
    if fmt == "json":
        handler = stream(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif fmt == "rich" and sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False
        )
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
    else:
        # Not a terminal (CI, log files, pipes): same words, one plain line each.
        handler = stream(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
        existing.close()
    root.addHandler(BackgroundHandler(handler) if writer_thread else handler)
    root.setLevel(level.upper())
    # APScheduler logs every job run at INFO; keep it to warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _OverrunFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(_OverrunFilter())
    logging.getLogger("mysql.connector").setLevel(logging.WARNING)
