"""``python -m bench.run [--quick] [--only NAME ...]``: run the benchmarks, print the tables,
write ``bench/results/latest.json``.

Names: drain (with its plain-SQL baselines), enqueue, latency, backlog, idle, peers,
dashboard.
(``bench/__init__.py`` runs first and loads the connector's C extension before ssl.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from bench import backlog, dashboard, db, drain, enqueue, idle, latency, peers
from bench.context import Context, Sizes
from bench.report import print_report, targets_for, write_json
from tests.support.sql import Sql

BENCHMARKS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "drain": drain.run,
    "enqueue": enqueue.run,
    "latency": latency.run,
    "backlog": backlog.run,
    "idle": idle.run,
    "peers": peers.run,
    "dashboard": dashboard.run,
}
VERSIONS_OF = (
    "workcraft",
    "mysql-connector-python",
    "huey",
    "peewee",
    "celery",
    "kombu",
    "sqlalchemy",
    "pymysql",
    "starlette",
    "uvicorn",
)
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a ~1 minute smoke run")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat or comma-separate): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--peon-log-level",
        default="INFO",
        help="--log-level for the peons (default INFO, the CLI's default: one line per task "
        "to a file; the drain adds a run at WARNING to show what that costs)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the child processes' logs and configs"
    )
    args = parser.parse_args(argv)
    names = [name.strip() for value in args.only for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    args.selected = [name for name in BENCHMARKS if not names or name in names]
    return args


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _server_version() -> str:
    try:
        with Sql(db.bench_config("mysql")) as sql:
            return str(sql.value("SELECT VERSION()"))
    except Exception as exc:
        return f"unknown ({exc})"


def _meta(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    return {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "benchmarks": args.selected,
        "sizes": {key: value for key, value in vars(sizes).items()},
        "python": platform.python_version(),
        "server": _server_version(),
        "c_extension": db.C_EXTENSION,
        "peon_log_level": args.peon_log_level,
        "versions": {name: _version(name) for name in VERSIONS_OF},
        "load_average": list(_load_average()),
    }


def _load_average() -> tuple[float, ...]:
    try:
        return tuple(round(value, 2) for value in os.getloadavg())
    except OSError:
        return ()


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # clean up like on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    logging.basicConfig(level=logging.WARNING)
    # Piped to a file or CI log: wide enough for the tables (a terminal keeps its width).
    console = Console() if sys.stdout.isatty() else Console(width=150)
    sizes = Sizes.quick() if args.quick else Sizes()
    workdir = Path(tempfile.mkdtemp(prefix="wkbench-"))
    ctx = Context(sizes, args.quick, workdir, console, args.peon_log_level)
    meta = _meta(args, sizes)
    results: dict[str, Any] = {}
    failed = False
    try:
        for name in args.selected:
            console.rule(f"[bold]{name}")
            started = time.monotonic()
            try:
                results[name] = BENCHMARKS[name](ctx)
            except Exception as exc:
                failed = True
                console.print(traceback.format_exc(), markup=False, highlight=False)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            ctx.note(f"{name} took {time.monotonic() - started:.0f} s")
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: everything started was stopped[/]")
        failed = True
    finally:
        meta["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        meta["load_average_end"] = list(_load_average())
        targets = targets_for(results)
        print_report(console, results, targets)
        write_json(args.json, meta, results, targets)
        console.print(f"results written to {args.json}")
        if args.keep_logs or failed:
            console.print(f"child logs and configs: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
