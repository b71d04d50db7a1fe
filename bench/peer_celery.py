"""The Celery app the Celery worker runs (``-A bench.peer_celery``): kombu's SQLAlchemy
transport as the broker and the SQLAlchemy ("db+") result backend, both on MySQL (PyMySQL).

URLs come from WKBENCH_CELERY_BROKER and WKBENCH_CELERY_BACKEND.
"""

from __future__ import annotations

import os
import time

from celery import Celery
from kombu.transport import sqlalchemy as sqla_transport

# The transport polls an empty (or, with prefetch full, unconsumable) queue every second by
# default, and its engine factory passes every transport option to SQLAlchemy, so the
# interval cannot be set through broker_transport_options. Same polling as the workcraft
# peons in the drain benchmark (0.05 s):
sqla_transport.Transport.polling_interval = 0.05

app = Celery(
    "wkbench",
    broker=os.environ["WKBENCH_CELERY_BROKER"],
    backend=os.environ["WKBENCH_CELERY_BACKEND"],
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")  # type: ignore[untyped-decorator]
def noop() -> float:
    """No work; the returned clock (stored in the result backend) times the drain."""
    return time.time()
