"""The workcraft benchmark suite: ``python -m bench.run`` (what ``make bench`` runs).

Every benchmark works in a database of its own on the configured server (WK_DB_* or the
defaults: root@127.0.0.1:3306), starts real processes, and stops and drops everything it
made, also on Ctrl-C. The machine is shared and noisy, so each workcraft number is reported
next to a baseline measured in the same run, as a ratio.
"""

from __future__ import annotations

import contextlib

# The connector's C extension links its own OpenSSL: it only loads if it is imported before
# anything pulls in Python's ssl/hashlib (FIELD-NOTES 3). The peer libraries import ssl, so
# this must come first; without it the baselines would quietly run on pure Python.
with contextlib.suppress(ImportError):
    import _mysql_connector  # noqa: F401
