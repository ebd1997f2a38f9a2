"""`python -m reelay_worker`: run a worker configured from REELAY_* settings."""

from reelay_core.logging import configure_logging
from reelay_core.settings import get_settings

from reelay_worker import log_filters, worker


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    log_filters.install()
    worker.run(settings)


if __name__ == "__main__":
    main()
