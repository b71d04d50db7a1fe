"""Task apps for the Galera cluster test (``tests.cluster_apps.tasks.app``)."""
