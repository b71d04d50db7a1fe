"""The seed's import path for the app: ``from workcraft.core import workcraft``."""

from workcraft.app import Workcraft, workcraft

__all__ = ["Workcraft", "workcraft"]
