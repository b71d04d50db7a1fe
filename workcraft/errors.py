"""Errors that the command line turns into one clear line and an exit code."""

from __future__ import annotations


class WorkcraftError(Exception):
    """Base class; ``exit_code`` is what the command line exits with."""

    exit_code = 1


class ConfigError(WorkcraftError):
    """A settings file, flag or environment variable is wrong."""

    exit_code = 2


class UsageError(WorkcraftError):
    """The user asked for something that cannot work (bad module path, missing tables)."""

    exit_code = 2


class DatabaseError(WorkcraftError):
    """A permanent database error: wrong credentials, unknown database, missing privilege."""

    exit_code = 1


class UnknownDatabase(DatabaseError):
    """The database named in the settings does not exist on the server."""


class DatabaseUnavailable(DatabaseError):
    """The server did not answer (after retrying, where retrying was allowed)."""


class SchemaMissing(UsageError):
    """The workcraft tables are not there: ``setup_database_tables`` has not been run."""


class PayloadTooLarge(WorkcraftError):
    """A task's payload is larger than the server's ``max_allowed_packet``."""
