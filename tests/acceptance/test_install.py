"""A non-editable install into a fresh venv gives a working ``workcraft`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO_ROOT

INSTALL_TIMEOUT = 300


def pristine_env() -> dict[str, str]:
    """No WK_DB_*, no virtualenv and no PYTHONPATH: nothing may lead to the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WK_DB_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
def test_pip_install_gives_a_working_command(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = pristine_env()
    subprocess.run(
        [sys.executable, "-m", "venv", str(venv)],
        check=True,
        timeout=120,
        env=env,
        capture_output=True,
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(REPO_ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    # Run from an unrelated directory so nothing is imported from the source tree.
    for command in (
        [str(venv / "bin" / "workcraft"), "--help"],
        [str(python), "-m", "workcraft", "--help"],
    ):
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "setup-database-tables" in result.stdout

    # The package (with its SQL file) came from site-packages, not from the checkout.
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import workcraft, workcraft.data.queries as q; "
            "print(workcraft.__file__); print(len(q.load_queries()))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    location, count = where.stdout.split()
    assert Path(location).is_relative_to(venv), location
    assert int(count) > 0

    # The dashboard's templates and static files ship in the package; without the web
    # extra, `workcraft web` says which extra to install (one line, exit 2).
    shipped = subprocess.run(
        [
            str(python),
            "-c",
            "from importlib import resources; web = resources.files('workcraft.web'); "
            "print(all(web.joinpath(p).is_file() for p in ('templates/overview.html', "
            "'static/htmx.min.js', 'static/workcraft.css', 'static/htmx.LICENSE.txt')))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shipped.stdout.strip() == "True", shipped.stdout + shipped.stderr
    web = subprocess.run(
        [str(venv / "bin" / "workcraft"), "web"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert web.returncode == 2, web.stdout + web.stderr
    assert "pip install 'workcraft[web]'" in web.stderr
    assert len(web.stderr.strip().splitlines()) == 1, web.stderr
