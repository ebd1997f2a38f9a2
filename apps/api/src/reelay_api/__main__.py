"""`python -m reelay_api`: serve the API with uvicorn on REELAY_API_HOST:REELAY_API_PORT."""

import uvicorn
from reelay_core.logging import configure_logging
from reelay_core.settings import get_settings

from reelay_api.auth.rate_limit import proxy_options


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "reelay_api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        # None: uvicorn's records go through the handler configure_logging installed.
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=settings.access_log,
        **proxy_options(settings),
        # Finish open SSE streams quickly on shutdown instead of waiting for clients.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
