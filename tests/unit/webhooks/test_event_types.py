"""The event types are spelled in three packages that cannot import one another's list: the API's
schema (an enum in the OpenAPI document), the CLI (which depends on no server package) and core."""

from typing import get_args

from reelay_api.webhooks.schemas import EventType
from reelay_cli.commands.webhooks import EVENT_TYPES as CLI_EVENT_TYPES
from reelay_core.webhooks.event_types import EVENT_TYPES


def test_the_api_schema_offers_exactly_the_event_types_core_announces() -> None:
    assert get_args(EventType) == EVENT_TYPES


def test_the_cli_offers_exactly_the_event_types_core_announces() -> None:
    assert CLI_EVENT_TYPES == EVENT_TYPES
