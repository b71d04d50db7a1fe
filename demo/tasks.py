"""The demo's workcraft app: some tasks succeed, some fail and are retried, some fail for good."""

from __future__ import annotations

import asyncio
import random
import time

from workcraft.core import workcraft

app = workcraft()


@app.task("resize_image")
def resize_image(name: str, width: int) -> dict[str, object]:
    time.sleep(random.uniform(0.05, 0.3))
    return {"image": name, "width": width, "height": width * 3 // 4}


@app.task("fetch_price")
async def fetch_price(symbol: str) -> float:
    await asyncio.sleep(random.uniform(0.05, 0.2))
    return round(random.uniform(10, 500), 2)


@app.task("flaky_charge")
def flaky_charge(order_id: int, amount: float) -> str:
    """Fails half the time; sent with retry_on_failure, so the janitor reopens it."""
    time.sleep(random.uniform(0.05, 0.2))
    if random.random() < 0.5:
        raise ConnectionError(f"payment gateway timed out for order {order_id}")
    return f"order {order_id}: charged {amount:.2f}"


@app.task("doomed_export")
def doomed_export(report: str) -> None:
    raise ValueError(f"report {report!r} has no rows to export")


@app.task("page_oncall")
def page_oncall(incident: str) -> str:
    """Sent last with priority=-10: the peons take it before the images queued earlier."""
    return f"paged on-call for {incident}"


@app.task("send_reminder")
def send_reminder(user: str) -> str:
    """Sent with delay=3: nobody claims it before then."""
    return f"reminded {user}"


@app.task("sweep_carts", every=2)
def sweep_carts() -> str:
    """A recurring schedule: the janitor enqueues it every 2 seconds."""
    return "abandoned carts swept"


@app.task("crunch_numbers", timeout=1)
def crunch_numbers(rounds: int) -> int:
    """Works for 5 s with timeout=1: the peon stops it after 1 s, FAILURE with TaskTimeout."""
    total = 0
    for i in range(rounds):
        total += i
        time.sleep(0.01)
    return total


@app.task("build_report")
async def build_report(name: str) -> str:
    """Takes a minute; the demo cancels it while it runs (asyncio cancels it: CANCELLED)."""
    await asyncio.sleep(60)
    return f"report {name} built"


@app.task("nightly_digest")
def nightly_digest() -> str:
    """Sent with delay=60 and cancelled at once: it never runs."""
    return "digest sent"


@app.task("sync_account")
def sync_account(account: str, part: int) -> str:
    """Sent with concurrency_key=account: never two parts of one account at once."""
    time.sleep(0.2)
    return f"{account} part {part} synced"
