"""Import the app named by ``--workcraft_path=module.attr`` (or ``module:attr``)."""

from __future__ import annotations

import importlib
import os
import sys

from workcraft.app import Workcraft
from workcraft.errors import UsageError


def load_app(path: str) -> Workcraft:
    """Every failure is one clear ``UsageError`` line (exit code 2), never a traceback."""
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise UsageError(
            f"--workcraft_path={path!r} must look like MODULE.ATTRIBUTE, e.g. example.workcraft"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # `python -m` does this; the console script does not
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(
                f"--workcraft_path={path}: no module named {module_name!r} "
                f"(looked in {cwd} and the Python path)"
            ) from None
        raise UsageError(
            f"--workcraft_path={path}: importing {module_name} failed: {exc}"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"--workcraft_path={path}: importing {module_name} raised {type(exc).__name__}: {exc}"
        ) from None
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"--workcraft_path={path}: module {module_name} has no {attr!r}") from None
    if not isinstance(app, Workcraft):
        raise UsageError(
            f"--workcraft_path={path}: {attr} is a {type(app).__name__}, not a workcraft app "
            "(create it with `workcraft = workcraft()`)"
        )
    if not app.tasks:
        raise UsageError(f"--workcraft_path={path}: the app has no tasks registered")
    return app
