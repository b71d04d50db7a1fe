"""Task apps for the janitor's real-process tests (``janitor_apps.tasks.app``)."""
