"""The path from the published original, workcraft 0.5.27 (November 2024).

Its code keeps running beside the README's API, which stays the documented one:

* ``payload.py`` — ``TaskPayload``, the six payload lists/dicts (``workcraft.models``).
* ``task.py`` — 0.5.27's ``Task`` shape (``payload`` a ``TaskPayload``, ``result`` JSON text),
  returned by 0.5.27's form of ``get_task_sync``.
* ``handlers.py`` — 0.5.27's handler protocols, for type hints (``workcraft.models``).
* ``producer.py`` — ``send_task_sync`` / ``get_task_sync`` as a method of the app *and*
  0.5.27's static method of the same name (``Workcraft.send_task_sync(db_config=, payload=,
  task_name=)``).
* ``taskid.py`` — which tasks are called with the task id first.
* ``queues.py`` — python-fire's ``--queues="[a,b]"`` list spelling.
* ``sweepers.py`` — the original's EVENTs and procedures: found, reported, dropped.
* ``deprecation.py`` — one ``DeprecationWarning`` per old form and process.

Nothing here is imported by ``workcraft/compat/__init__``: each module is imported where it is
used (``workcraft.models`` imports ``payload`` and ``handlers`` itself).
"""
