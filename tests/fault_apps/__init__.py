"""Apps run by the fault-scenario tests (``tests/test_faults.py``)."""
