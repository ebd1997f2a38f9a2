"""Retry delays double from the base up to the cap, each a random point in its upper half."""

from __future__ import annotations

import random

from reelay_core.webhooks.backoff import retry_delay


def test_delays_double_then_stop_at_the_cap() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (30, 3600)]:
        for _ in range(50):
            delay = retry_delay(attempts, base=10, cap=3600, rng=rng)
            assert ceiling / 2 <= delay <= ceiling, (attempts, delay)


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(1)
    delays = {round(retry_delay(4, base=10, cap=3600, rng=rng), 3) for _ in range(20)}
    assert len(delays) > 15


def test_the_schedule_covers_a_day_in_a_few_dozen_attempts() -> None:
    """With the defaults (10 s, doubling, 1 h cap), 24 h of retries is ~30 attempts."""
    rng = random.Random(3)
    elapsed, attempts = 0.0, 0
    while elapsed < 24 * 3600:
        attempts += 1
        elapsed += retry_delay(attempts, base=10, cap=3600, rng=rng)
    assert 20 <= attempts <= 60
