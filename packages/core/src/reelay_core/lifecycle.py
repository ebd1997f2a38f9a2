"""Which status changes are allowed, and which event name each one is announced with."""

from reelay_core.db.models.media import TERMINAL_STATUSES, MediaStatus

S = MediaStatus

ALLOWED: dict[MediaStatus, frozenset[MediaStatus]] = {
    S.AWAITING_UPLOAD: frozenset({S.QUEUED, S.CANCELED}),
    S.QUEUED: frozenset({S.PROCESSING, S.CANCELED, S.FAILED}),
    # PROCESSING -> QUEUED is a retry after a transient failure or a requeue after a crash.
    S.PROCESSING: frozenset({S.QUEUED, S.COMPLETED, S.FAILED, S.CANCELED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),
    S.CANCELED: frozenset({S.QUEUED}),
}


class InvalidTransition(Exception):
    def __init__(self, current: MediaStatus, target: MediaStatus) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


def can_transition(current: MediaStatus | str, target: MediaStatus | str) -> bool:
    return MediaStatus(target) in ALLOWED[MediaStatus(current)]


def check_transition(current: MediaStatus | str, target: MediaStatus | str) -> None:
    if not can_transition(current, target):
        raise InvalidTransition(MediaStatus(current), MediaStatus(target))


def event_name(status: MediaStatus | str) -> str:
    """Terminal statuses are announced under their own name; every other change as `status`."""
    status = MediaStatus(status)
    return status.value if status in TERMINAL_STATUSES else "status"


def is_terminal_event(event: str) -> bool:
    return event in {s.value for s in TERMINAL_STATUSES}
