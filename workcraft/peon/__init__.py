"""The peon process: ``Peon`` (the loop), ``Registration`` (its row and heartbeat),
``Exchange`` (the claim/complete transaction), ``WorkerPool`` (threads) and ``runner``
(running one task)."""

from workcraft.peon.peon import Peon, PeonOptions, Step
from workcraft.peon.registration import IdentityTakenOver

__all__ = ["IdentityTakenOver", "Peon", "PeonOptions", "Step"]
