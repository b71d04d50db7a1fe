"""What the tests (and ``bench``) share, one implementation of each.

* ``sql``: ``Sql``, raw SQL on a connection of the test's own (reconnects after a server
  restart when asked); the server's address; creating and dropping databases.
* ``procs``: ``Proc`` and ``ProcGroup``, real child processes with their output in files,
  every wait bounded, all stopped at the end; ``child_env``; one-shot ``run_workcraft``.
* ``settings``: ``write_settings`` and its presets (``FAST``, ``JANITOR``, ``FAULT``, ...).
* ``waiting``: ``wait_until``, the one bounded polling loop.
* ``private_server``: a MariaDB of a test's (or a benchmark's) own, to stop and restart.
* ``rows``: reading the workcraft tables back (task and peon rows, log lines).
* ``schema``: what tables, columns and indexes a database has.
* ``security``: hostile strings, throw-away MySQL users, TLS material, sentinel rows.
* ``net``: a TCP port nothing listens on.

Nothing here imports pytest: ``bench`` uses these modules outside of a test run.
"""
