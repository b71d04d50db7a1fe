"""Apps run by the fault-scenario tests (``tests/acceptance/test_faults.py``)."""
