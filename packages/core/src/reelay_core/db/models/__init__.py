"""Every table, one module each; import as `from reelay_core.db import models as m`."""

from reelay_core.db.models.api_key import ApiKey, ApiKeyScope
from reelay_core.db.models.base import Base
from reelay_core.db.models.media import Media, MediaKind, MediaStatus
from reelay_core.db.models.media_event import MediaEvent
from reelay_core.db.models.user import User
from reelay_core.db.models.webhook_delivery import DeliveryStatus, WebhookDelivery
from reelay_core.db.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "ApiKey",
    "ApiKeyScope",
    "Base",
    "DeliveryStatus",
    "Media",
    "MediaEvent",
    "MediaKind",
    "MediaStatus",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
]
