"""`python -m reelay_worker`: run an arq worker configured from REELAY_* settings."""

from arq.worker import run_worker
from reelay_core.logging import configure_logging
from reelay_core.settings import get_settings

from reelay_worker import log_filters
from reelay_worker.worker import make_worker_settings


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    log_filters.install()
    run_worker(make_worker_settings(settings))


if __name__ == "__main__":
    main()
