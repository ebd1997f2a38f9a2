"""The transitions table and the events that announce each status."""

from __future__ import annotations

from pathlib import Path

import pytest
from reelay_core.db.models import MediaStatus as S
from reelay_core.media.transitions import (
    IllegalTransition,
    can_transition,
    check_transition,
    event_name,
    is_terminal_event,
    state_diagram,
)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.AWAITING_UPLOAD, S.QUEUED),
        (S.QUEUED, S.PROCESSING),
        (S.PROCESSING, S.COMPLETED),
        (S.PROCESSING, S.QUEUED),  # retry after a transient failure, or a dead worker's requeue
        (S.FAILED, S.QUEUED),
        (S.CANCELED, S.QUEUED),
        (S.QUEUED, S.CANCELED),
    ],
)
def test_allowed(current: S, target: S) -> None:
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.COMPLETED, S.QUEUED),  # completed media is never reprocessed by retry
        (S.COMPLETED, S.CANCELED),
        (S.AWAITING_UPLOAD, S.PROCESSING),  # must be queued first
        (S.FAILED, S.COMPLETED),
        (S.CANCELED, S.PROCESSING),
    ],
)
def test_refused(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition, match=f"{current} to {target}"):
        check_transition(current, target)


def test_every_status_has_rules() -> None:
    for status in S:
        assert isinstance(can_transition(status, S.QUEUED), bool)


def test_terminal_statuses_are_announced_by_name() -> None:
    assert [event_name(s) for s in (S.COMPLETED, S.FAILED, S.CANCELED)] == [
        "completed",
        "failed",
        "canceled",
    ]
    assert {event_name(s) for s in (S.AWAITING_UPLOAD, S.QUEUED, S.PROCESSING)} == {"status"}
    assert (
        is_terminal_event("failed")
        and not is_terminal_event("progress")
        and not is_terminal_event("status")
    )


def test_the_architecture_doc_shows_the_table() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "architecture.md").read_text()
    shown = doc.split("<!-- state-diagram:start -->")[1].split("<!-- state-diagram:end -->")[0]
    assert shown.strip() == f"```mermaid\n{state_diagram()}\n```", (
        "docs/architecture.md: paste transitions.state_diagram() between the markers"
    )
