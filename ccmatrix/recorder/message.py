"""The base of every model that crosses the control channel (control.py, exchanges.py).

Both ends build and read the same models, so a renamed field fails loudly on either
side instead of being guessed at: extra fields are refused.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_serializer("request", "response", check_fields=False)
    def _compact(self, value: Any) -> Any:
        # as in a cassette: aliases ("json"), no empty representations
        return value.model_dump(mode="json", by_alias=True, exclude_none=True) if value is not None else None
