"""The results as rich tables, the targets as PASS/MISS, and the JSON file."""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any, TypeGuard

from rich.console import Console
from rich.table import Table


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    measured: float | None
    threshold: float
    higher_is_better: bool = True
    unit: str = "x"
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        ok = (
            self.measured >= self.threshold
            if self.higher_is_better
            else self.measured <= self.threshold
        )
        return "PASS" if ok else "MISS"

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "verdict": self.verdict}


def _ok(section: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(section, dict) and "error" not in section and "skipped" not in section


def _drain_targets(drain: dict[str, Any]) -> list[Target]:
    """2 peons at default settings and log level, against the lean (physical) limit: the
    median ratio of the repeated runs, each with the lean limit just before and after."""
    runs = drain["runs"]
    targets: list[Target] = []
    for concurrency, batch, threshold in ((1, 1, 0.75), (8, 10, 0.70)):
        ratios = [
            r["ratio_to_lean"] for r in runs if r["peons"] == 2 and r["concurrency"] == concurrency
        ]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "none"
        targets.append(
            Target(
                f"drain, 2 peons x conc {concurrency} / lean claim {batch}",
                statistics.median(ratios) if ratios else None,
                threshold,
                note=f"median of {len(ratios)} runs ({spread}); defaults, INFO to a file",
            )
        )
    return targets


def _peer_targets(peers: dict[str, Any]) -> list[Target]:
    targets = []
    for name, factor in (("huey", 5.0), ("celery", 8.0)):
        peer = peers["peers"].get(name)
        measured = peer.get("workcraft_ratio") if _ok(peer) else None
        targets.append(
            Target(
                f"drain, workcraft 4 peons x conc 8 / {name} (4 workers)",
                measured,
                factor,
                note="all quiet (no line per task); workcraft just before and after",
            )
        )
    return targets


def targets_for(results: dict[str, Any]) -> list[Target]:
    targets: list[Target] = []
    drain, peers = results.get("drain"), results.get("peers")
    if _ok(drain):
        targets += _drain_targets(drain)
    if _ok(peers):
        targets += _peer_targets(peers)
    enqueue = results.get("enqueue")
    if _ok(enqueue):
        targets.append(
            Target("send_tasks_sync / raw executemany", enqueue["send_tasks_sync_ratio"], 0.8)
        )
    latency = results.get("latency")
    if _ok(latency):
        for case in latency["cases"]:
            targets.append(
                Target(
                    f"pickup p50 at {case['polling_interval']:g} s polling",
                    case["p50_ms"],
                    case["target_p50_ms"],
                    higher_is_better=False,
                    unit="ms",
                    note="<= interval / 2 + 10 ms",
                )
            )
        for case in latency.get("delayed", []):
            targets.append(
                Target(
                    f"delayed task start after run_at, max, {case['polling_interval']:g} s polling",
                    case["max_ms"],
                    case["bound_ms"],
                    higher_is_better=False,
                    unit="ms",
                    note="within one polling interval",
                )
            )
    backlog = results.get("backlog")
    if _ok(backlog):
        # The largest PENDING backlog, the finished rows and the rows scheduled for later
        # beside a small one.
        reference = backlog["cases"][0]["case"]
        for case in backlog["cases"][-3:]:
            targets.append(
                Target(
                    f"claim p50, {case['case']} / {reference}",
                    case["p50_ratio"],
                    1.5,
                    higher_is_better=False,
                )
            )
    idle = results.get("idle")
    if _ok(idle):
        targets.append(
            Target(
                "idle peon queries in the window",
                idle["peon_queries"],
                idle["allowed_queries"],
                higher_is_better=False,
                unit="queries",
                note=f"1 per poll + heartbeat: {idle['expected_per_s']}/s",
            )
        )
        targets.append(
            Target("idle peon RSS", idle["rss_mib"], 60, higher_is_better=False, unit="MiB")
        )
    dashboard = results.get("dashboard")
    if _ok(dashboard):
        for name in dashboard["targeted"]:
            targets.append(
                Target(
                    f"{name}, median at {dashboard['rows']:,} rows",
                    dashboard["timings"][name]["median_ms"],
                    dashboard["target_ms"],
                    higher_is_better=False,
                    unit="ms",
                )
            )
    return targets


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def results_table(results: dict[str, Any]) -> Table:
    table = Table(title="workcraft benchmarks", show_lines=False)
    for column in ("benchmark", "case", "result", "compared with", "ratio"):
        table.add_column(column, justify="right" if column in ("result", "ratio") else "left")
    for name, section in results.items():
        if not _ok(section):
            reason = section.get("error") or section.get("skipped") if section else "not run"
            table.add_row(name, "[red]not measured[/]", "", str(reason)[:80], "")
            continue
        for row in _rows(name, section, results):
            table.add_row(*row)
        table.add_section()
    return table


def _rows(name: str, section: dict[str, Any], results: dict[str, Any]) -> list[list[str]]:
    builders = {
        "drain": _drain_rows,
        "enqueue": _enqueue_rows,
        "latency": _latency_rows,
        "backlog": _backlog_rows,
        "idle": _idle_rows,
        "peers": _peer_rows,
        "dashboard": _dashboard_rows,
    }
    return builders[name](section, results)


def _drain_rows(drain: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for batch in (1, 10):
        for run in drain[f"lean_claim_{batch}"]:
            rows.append(
                [
                    "drain",
                    f"{run['label']} (physical limit), {run['processes']} procs",
                    f"{_fmt(run['jobs_per_s'], 0)} jobs/s",
                    "",
                    "",
                ]
            )
    for run in drain["schema_baseline"]:
        lean = drain[f"lean_claim_{run['batch']}_jobs_per_s"]
        rows.append(
            [
                "drain",
                f"same loop on bountyboard (RC), claim {run['batch']}, {run['processes']} procs",
                f"{_fmt(run['jobs_per_s'], 0)} jobs/s",
                f"lean claim {run['batch']}: {_fmt(lean, 0)} (what the schema costs)",
                _fmt(run["jobs_per_s"] / lean if lean else None, 2),
            ]
        )
    extra = drain.get("quiet_log_runs", []) + drain.get("paused_queue_runs", [])
    for run in drain["runs"] + extra:
        batch = 1 if run["concurrency"] == 1 else 10
        rows.append(
            [
                "drain",
                run["label"],
                f"{_fmt(run['jobs_per_s'], 0)} jobs/s, {run['worker_cpu_ms_per_task']:.2f} ms CPU",
                f"lean claim {batch} around it: {_fmt(run['lean_jobs_per_s'], 0)}",
                _fmt(run["ratio_to_lean"], 2),
            ]
        )
    return rows


def _enqueue_rows(enqueue: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    raw = f"raw {_fmt(enqueue['raw_executemany_per_s'], 0)}/s"
    return [
        [
            "enqueue",
            f"raw executemany, {enqueue['batch']}/commit",
            f"{_fmt(enqueue['raw_executemany_per_s'], 0)}/s",
            "",
            "",
        ],
        [
            "enqueue",
            f"send_tasks_sync, {enqueue['bulk_tasks']:,} in {enqueue['batch']}s",
            f"{_fmt(enqueue['send_tasks_sync_per_s'], 0)}/s",
            raw,
            _fmt(enqueue["send_tasks_sync_ratio"], 2),
        ],
        [
            "enqueue",
            f"send_task_sync x {enqueue['single_tasks']:,}",
            f"{_fmt(enqueue['send_task_sync_per_s'], 0)}/s",
            raw,
            _fmt(enqueue["send_task_sync_ratio"], 3),
        ],
    ]


def _latency_rows(latency: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "pickup",
            f"idle peon, {case['polling_interval']:g} s polling, n={case['n']}",
            f"p50 {_fmt(case['p50_ms'])} / p99 {_fmt(case['p99_ms'])} ms",
            f"target p50 <= {_fmt(case['target_p50_ms'])} ms",
            "",
        ]
        for case in latency["cases"]
    ] + [
        [
            "delayed",
            f"run_at reached, idle peon, {case['polling_interval']:g} s polling, n={case['n']}",
            f"started p50 {_fmt(case['p50_ms'])} / max {_fmt(case['max_ms'])} ms later",
            f"bound {_fmt(case['bound_ms'])} ms",
            "",
        ]
        for case in latency.get("delayed", [])
    ]


def _backlog_rows(backlog: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    reference = backlog["cases"][0]["case"]
    return [
        [
            "claim",
            case["case"],
            f"p50 {_fmt(case['p50_ms'], 2)} / p99 {_fmt(case['p99_ms'], 2)} ms",
            reference if case is not backlog["cases"][0] else f"index {case['plan']['key']}",
            f"{_fmt(case['p50_ratio'], 2)} / {_fmt(case['p99_ratio'], 2)}",
        ]
        for case in backlog["cases"]
    ]


def _idle_rows(idle: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "idle",
            f"peon, {idle['polling_interval']:g} s polling, {idle['heartbeat']:g} s heartbeat",
            f"{_fmt(idle['queries_per_s'], 2)} queries/s",
            f"expected {_fmt(idle['expected_per_s'], 2)}/s",
            _fmt(idle["queries_per_s"] / idle["expected_per_s"], 2),
        ],
        ["idle", "peon resident memory (VmRSS)", f"{_fmt(idle['rss_mib'])} MiB", "<= 60", ""],
    ]


def _peer_rows(peers: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    rows = [
        [
            "peers",
            f"reference: {run['label']}",
            f"{_fmt(run['jobs_per_s'], 0)} jobs/s, {run['worker_cpu_ms_per_task']:.2f} ms CPU",
            "",
            "",
        ]
        for run in peers["workcraft_reference"]
    ]
    for name, peer in peers["peers"].items():
        if not _ok(peer):
            rows.append(["peers", name, "[red]not measured[/]", str(peer.get("error"))[:80], ""])
            continue
        rows.append(
            [
                "peers",
                f"{name}, {peer['workers']} workers ({peer['worker_type']})",
                f"{_fmt(peer['jobs_per_s'], 0)} jobs/s",
                f"workcraft around it: {_fmt(peer.get('workcraft_around_jobs_per_s'), 0)}",
                _fmt(peer.get("workcraft_ratio"), 2),
            ]
        )
        rows.append(
            ["peers", f"{name} enqueue one by one", f"{_fmt(peer['enqueue_per_s'], 0)}/s", "", ""]
        )
    return rows


def _dashboard_rows(dashboard: dict[str, Any], _results: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "dashboard",
            f"{name}, {dashboard['rows']:,} rows",
            f"median {_fmt(timing['median_ms'])} / p90 {_fmt(timing['p90_ms'])} ms",
            f"target <= {_fmt(dashboard['target_ms'], 0)} ms"
            if name in dashboard["targeted"]
            else "",
            "",
        ]
        for name, timing in dashboard["timings"].items()
    ]


def targets_table(targets: list[Target]) -> Table:
    table = Table(title="targets")
    for column in ("target", "measured", "threshold", "verdict", "note"):
        table.add_column(column, justify="right" if column in ("measured", "threshold") else "left")
    for target in targets:
        colour = {"PASS": "green", "MISS": "red"}.get(target.verdict, "yellow")
        sign = ">=" if target.higher_is_better else "<="
        table.add_row(
            target.name,
            f"{_fmt(target.measured, 2)} {target.unit}",
            f"{sign} {_fmt(target.threshold, 2)} {target.unit}",
            f"[{colour}]{target.verdict}[/]",
            target.note,
        )
    return table


def print_report(console: Console, results: dict[str, Any], targets: list[Target]) -> None:
    console.print(results_table(results))
    if targets:
        console.print(targets_table(targets))


def write_json(
    path: Path, meta: dict[str, Any], results: dict[str, Any], targets: list[Target]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "results": results,
        "targets": [target.as_dict() for target in targets],
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
