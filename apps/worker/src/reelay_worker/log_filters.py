"""Keep the worker's log readable: the lease sweeper runs every few seconds and says nothing new."""

import logging

from reelay_core import jobs


class QuietSweeps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or jobs.SWEEP_LEASES not in record.getMessage()


def install() -> None:
    logging.getLogger("arq.worker").addFilter(QuietSweeps())
