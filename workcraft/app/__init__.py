"""The app: what a user's module creates (``workcraft()``), registers tasks on, and
enqueues with."""

from workcraft.app.workcraft import Workcraft, workcraft

__all__ = ["Workcraft", "workcraft"]
