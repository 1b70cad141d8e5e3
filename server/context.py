"""What the web routes, the gateway and Document Output share in one server process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from server.channel import ChannelHub
from server.output import DocumentOutput
from server.store import Store


@dataclass
class ServerContext:
    data_dir: Path
    spool_dir: Path
    store: Store
    admin_token: str
    hub: ChannelHub
    output: DocumentOutput
    gateway_address: str  # host:port handed to endpoints in their config
