"""When a failed delivery is tried again: exponential, capped, with jitter."""

from __future__ import annotations

import random


def retry_delay(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds before the next try after `attempts` failed ones: base·2^(attempts-1) up to `cap`,
    of which a random half, so that many deliveries failing together do not retry together."""
    ceiling = min(cap, base * 2.0 ** max(attempts - 1, 0))
    jitter = (rng or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter
