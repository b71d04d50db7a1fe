"""The dashboard and ``/metrics`` behind ``workcraft web`` (the ``web`` extra).

``create_app(db, settings, options)`` in ``app.py`` builds the Starlette app; nothing here
imports Starlette at package import, so the command can say which extra is missing.
"""
