"""Task apps for the janitor's real-process tests (``tests.janitor_apps.tasks.app``)."""
