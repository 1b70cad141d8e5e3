"""The channel process: the persistent, authenticated channel to the cloud server.

This version does not connect yet; it says so in its status instead of pretending, so the
facade and the tray can show the truth: serverless (no ``server_url``) or not yet connected.
"""

from __future__ import annotations

from typing import Any

from services.core.runner import Service


class ChannelService(Service):
    name = "channel"

    async def status(self) -> dict[str, Any]:
        if not self.settings.server_url:
            return {"state": "idle", "reason": "serverless: no server_url configured"}
        return {
            "state": "disconnected",
            "reason": "this version does not open the persistent channel yet",
            "server_url": self.settings.server_url,
        }
