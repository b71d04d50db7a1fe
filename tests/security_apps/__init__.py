"""Apps for the hostile-input and security tests.

``--workcraft_path=tests.security_apps.hostile.app``
"""
