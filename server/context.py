"""What the web routes, the gateway and Document Output share in one server process."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from server.channel import ChannelHub
from server.documents import Documents
from server.output import DocumentOutput
from server.store import Store
from server.throttle import ThrottlePolicy
from server.tokens import TokenPolicy


@dataclass
class ServerContext:
    data_dir: Path
    documents: Documents  # where uploaded documents live (spool dir or database)
    store: Store
    admin_token: str
    hub: ChannelHub
    output: DocumentOutput
    gateway_address: str  # host:port handed to endpoints in their config
    instance: str  # this data dir's id; see instance_id()
    tokens: TokenPolicy = field(default_factory=TokenPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


def instance_id(data_dir: Path) -> str:
    """A stable id for this data dir (and so this spool), made on first start.

    A job whose document is in this data dir's spool names it (`Job.stored_by`), so only
    this instance prints or deletes it; a job being printed names the instance sending it
    (`Job.delivered_by`), whose restart alone retries it.
    """
    path = data_dir / "instance.id"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(uuid.uuid4().hex + "\n")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return path.read_text().strip()
