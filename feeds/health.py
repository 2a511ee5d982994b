"""``GET /healthz``: whether a server is ready, for a load balancer or a service manager.

It is cheap: it answers from the version being served and the index's own record of its
last round, reading no corpus file and rendering no feed. It names no path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

HEALTH_PATH = "/healthz"
HEALTH_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Health:
    """What ``/healthz`` tells: the index's state and what is published from it."""

    ready: bool
    items: int
    topics: int
    generation: int
    last_round: float | None
    """When the index was last brought up to date, in seconds since the epoch."""

    def answer(self, now: datetime) -> tuple[int, bytes]:
        """The status (200 when ready, 503 before the first reading is done) and the body."""
        body: dict[str, object] = {
            "status": "ok" if self.ready else "starting",
            "index": {"state": "ready" if self.ready else "reading", "generation": self.generation},
            "items": self.items,
            "topics": self.topics,
            "last_round": None,
            "last_round_age": None,
        }
        if self.last_round is not None:
            moment = datetime.fromtimestamp(self.last_round, UTC)
            body["last_round"] = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
            body["last_round_age"] = round(max(0.0, (now - moment).total_seconds()), 1)
        return (200 if self.ready else 503), json.dumps(body).encode() + b"\n"
