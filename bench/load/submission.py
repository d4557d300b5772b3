"""The body of one simulated inspection, shared by both load engines (standard library only: the
locust engine imports it in its own virtualenv, next to bench/load/locustfile.py)."""

import random
import uuid
from datetime import UTC, datetime, timedelta


def inspection_body(rng: random.Random, *, sites: list[dict], items: list[str], label: str) -> dict:
    """A new submission with a fresh client UUID: a random site of the run, a position within
    ~30 m of it, a time up to 10 h back, every checklist item answered (4 % failed)."""
    site = rng.choice(sites)
    return {
        "client_uuid": str(uuid.uuid4()),
        "site": site["id"],
        "performed_at": (datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))).isoformat(),
        "position": {
            "lon": site["lon"] + rng.uniform(-3e-4, 3e-4),
            "lat": site["lat"] + rng.uniform(-3e-4, 3e-4),
        },
        "gps_accuracy_m": round(rng.uniform(3, 40), 1),
        "findings": label,
        "answers": [
            {"item": code, "value": "fail" if rng.random() < 0.04 else "pass", "note": ""} for code in items
        ],
    }
