"""The workcraft test suite, a package so that ``tests.support`` and the test apps import by
their full names: from the test process, from ``python -m workcraft`` children (the repo
root is on their PYTHONPATH, e.g. ``--workcraft_path=tests.apps.basic.app``) and from
``bench``.

Layers: ``unit`` (no database, no processes), ``integration`` (the real database, the code
under test in the test process), ``acceptance`` (real processes and signals). Helpers live
in ``support``; shared fixtures in ``conftest.py``.
"""
