"""The port the sweeps send through, declared in the core (handlers.ports) and re-exported
here under its old name, so channels and tests keep importing it from schedules.outbox."""

from handlers.ports import SENDING, DeliveryError, Outbox

__all__ = ["SENDING", "DeliveryError", "Outbox"]
