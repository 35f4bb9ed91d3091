"""The realtime gateway: a Socket.IO server that turns published scan events into one ordered,
seq-stamped stream for dashboards (see README, "Gateway")."""
from realtime.gateway.running import RunningGateway, start_in_thread
from realtime.gateway.server import Gateway

__all__ = ["Gateway", "RunningGateway", "start_in_thread"]
