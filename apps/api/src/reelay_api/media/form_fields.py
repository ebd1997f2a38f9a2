"""The fields an upload through the API may send before its file: `external_id`, `metadata`.

They come before the file, as in S3's presigned POST, so that they are checked before a byte of
the file is stored; `metadata` is a JSON object sent as the field's text.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, ValidationError

from reelay_api.media.schemas import ExternalId, Metadata
from reelay_api.problems import Problem

PASSED_FIELDS = frozenset({"external_id", "metadata"})
# Twice the metadata limit: room for JSON whitespace, which the limit does not count.
MAX_FIELD_BYTES = 8192


class FormFields(BaseModel):
    external_id: ExternalId = None
    metadata: Metadata = Field(default_factory=dict)


class FieldCollector:
    """Collects the passed-through fields' bytes as the parser streams them."""

    def __init__(self) -> None:
        self.values: dict[str, bytearray] = {}
        self.current: bytearray | None = None

    def start(self, name: str, *, after_file: bool) -> None:
        self.current = None
        if name not in PASSED_FIELDS:
            return
        if after_file:
            raise Problem(
                422,
                f"Send the `{name}` field before the file: the file is stored as it arrives.",
                code="field_after_file",
            )
        self.current = self.values.setdefault(name, bytearray())

    def feed(self, data: bytes) -> None:
        if self.current is None:
            return  # another field: ignored, as before
        self.current.extend(data)
        if len(self.current) > MAX_FIELD_BYTES:
            raise Problem(
                422, f"A form field is larger than {MAX_FIELD_BYTES} bytes.", code="field_too_large"
            )

    def parsed(self) -> FormFields:
        try:
            raw = {name: value.decode() for name, value in self.values.items()}
            metadata = json.loads(raw.pop("metadata")) if "metadata" in raw else {}
            return FormFields.model_validate({**raw, "metadata": metadata})
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Problem(
                422, "The `metadata` field is not a JSON object in UTF-8.", code="validation_error"
            ) from None
        except ValidationError as exc:
            reasons = "; ".join(
                f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
            )
            raise Problem(
                422, f"The form's fields are malformed: {reasons}", code="validation_error"
            ) from None
