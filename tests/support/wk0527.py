"""The published original, workcraft 0.5.27, in a virtual environment of its own.

Built once per machine by the tests themselves (``python -m venv`` + ``pip install
workcraft==0.5.27``) in a cache directory keyed by version and Python, and reused after:
``WK_TEST_CACHE_DIR``, else ``$XDG_CACHE_HOME/workcraft-tests``, else
``~/.cache/workcraft-tests``. A lock file serialises concurrent builders (xdist workers);
a marker written last tells a finished environment from one a killed build left behind.

Nothing of 0.5.27 is copied into this repository: its setup SQL is executed from the
installed package (by running its own ``setup_database_tables``), and tasks are enqueued
by its own ``Workcraft.send_task_sync`` in a process of that environment
(``tests/compat_apps/enqueue_0527.py``). Its setup turns the server's global
``event_scheduler`` ON: run it against a private server only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.procs import REPO_ROOT, child_env
from workcraft.db import DBConfig

VERSION = "0.5.27"
ENQUEUE_SCRIPT = REPO_ROOT / "tests" / "compat_apps" / "enqueue_0527.py"
INSTALL_TIMEOUT = 900
# pip's words for "could not reach the index" (as opposed to a failed build or a conflict).
_UNREACHABLE = (
    "Could not fetch URL",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Max retries exceeded",
    "No matching distribution found for workcraft",
    "Connection refused",
    "timed out",
)


class IndexUnreachable(RuntimeError):
    """pip could not reach the package index: the caller skips, saying so."""


def cache_dir() -> Path:
    configured = os.environ.get("WK_TEST_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "workcraft-tests"


def venv_dir() -> Path:
    return cache_dir() / f"wk0527-venv-{VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}"


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """In the cache directory: not this repository, whose workcraft would shadow 0.5.27's."""
    return subprocess.run(
        args,
        cwd=cache_dir(),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith(("WK_", "PYTHONPATH"))},
    )


def ensure_venv() -> Path:
    """The Python of a virtual environment with workcraft 0.5.27 installed (built if
    missing). Raises ``IndexUnreachable`` when pip cannot reach the package index."""
    venv = venv_dir()
    marker = venv / ".workcraft-tests-complete"
    with _locked(venv.with_name(venv.name + ".lock")):
        if marker.is_file():
            return python_of(venv)
        shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
        made = _run([sys.executable, "-m", "venv", str(venv)])
        if made.returncode != 0:
            raise RuntimeError(f"python -m venv {venv} failed:\n{made.stderr[-2000:]}")
        pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet"]
        installed = _run([*pip, f"workcraft=={VERSION}"])
        if installed.returncode != 0:
            output = installed.stdout + installed.stderr
            shutil.rmtree(venv, ignore_errors=True)
            if any(words in output for words in _UNREACHABLE):
                raise IndexUnreachable(
                    f"pip could not fetch workcraft=={VERSION} (package index unreachable?): "
                    + " ".join(output.strip().splitlines()[-1:])
                )
            raise RuntimeError(f"pip install workcraft=={VERSION} failed:\n{output[-3000:]}")
        marker.write_text(VERSION)
    return python_of(venv)


def package_dir(python: Path) -> Path:
    """The installed 0.5.27 package (its ``sqls/`` folder holds the setup SQL)."""
    done = _run(
        [str(python), "-c", "import workcraft, os; print(os.path.dirname(workcraft.__file__))"]
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot import 0.5.27's workcraft: {done.stderr[-2000:]}")
    return Path(done.stdout.strip())


def _original_env() -> dict[str, str]:
    """No WK_* and not this repository on the path: 0.5.27 must import its own package."""
    env = child_env()
    env.pop("PYTHONPATH", None)
    return env


def _run_original(command: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    """``command`` in ``workdir`` with 0.5.27's environment, output captured, bounded."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        command,
        cwd=workdir,
        env=_original_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_original_setup(python: Path, config: DBConfig, workdir: Path) -> str:
    """0.5.27's own ``python -m workcraft setup_database_tables`` (its SQL files, its SET
    GLOBALs) against ``config``; the database must exist. Returns its log."""
    # workdir has no workcraft.config.json: 0.5.27's defaults
    done = _run_original(
        [
            str(python),
            "-m",
            "workcraft",
            "setup_database_tables",
            "--read_from_env=False",
            f"--db_host={config.host}",
            f"--db_port={config.port}",
            f"--db_user={config.user}",
            f"--db_password={config.password}",
            f"--db_name={config.database}",
        ],
        workdir,
    )
    if done.returncode != 0:
        raise RuntimeError(f"0.5.27's setup failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stderr


def run_original_script(python: Path, config: DBConfig, workdir: Path, *args: str) -> Any:
    """``tests/compat_apps/enqueue_0527.py`` in the 0.5.27 environment: enqueues (or reads)
    through 0.5.27's own API; returns the JSON it prints."""
    done = _run_original(
        [str(python), str(ENQUEUE_SCRIPT), json.dumps(_config_dict(config)), *args], workdir
    )
    if done.returncode != 0:
        raise RuntimeError(f"{ENQUEUE_SCRIPT.name} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _config_dict(config: DBConfig) -> dict[str, object]:
    return {
        "host": config.host,
        "port": config.port,
        "user": config.user,
        "password": config.password,
        "database": config.database,
    }
