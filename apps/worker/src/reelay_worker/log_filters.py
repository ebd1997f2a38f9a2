"""Keep the worker's log about jobs: arq's routine lines that say nothing new are dropped."""

import logging
import re

from reelay_core import jobs

# arq's start (→) and end (←) lines of a job; the lease sweeper runs every 5 s.
SWEEP_LINE = re.compile(rf"[→←] \S*{re.escape(jobs.SWEEP_LEASES)}\b")
# Written every health_check_interval whenever a counter moved, which every sweep does, and
# counting a cancelled job as failed: it reads like work, or trouble, when there is neither. The
# health record itself is still stored in Redis for `arq --check`.
HEALTH_LINE = "recording health:"


class QuietRoutine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not (message.startswith(HEALTH_LINE) or SWEEP_LINE.search(message))


def install() -> None:
    logging.getLogger("arq.worker").addFilter(QuietRoutine())
