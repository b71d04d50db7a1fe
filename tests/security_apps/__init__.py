"""Apps for the hostile-input and security tests.

``--workcraft_path=security_apps.hostile.app``
"""
