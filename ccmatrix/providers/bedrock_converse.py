"""Bedrock Converse: its own request shape, answered as Converse JSON or event stream."""

from __future__ import annotations

import json

from ccmatrix.providers.base import CONVERSE
from ccmatrix.providers.bedrock import Bedrock
from ccmatrix.wire.messages import (
    AssistantMessage,
    from_anthropic_json,
    from_converse_json,
    from_converse_stream,
    from_sse,
)


class BedrockConverse(Bedrock):
    id = "bedrock_converse"
    name = "Bedrock Converse"
    label = "Converse"
    dialect = CONVERSE
    litellm_prefix = "bedrock/converse/"
    beta_fields = ("body.additionalModelRequestFields.anthropic_beta",)

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        if content_type.startswith("application/vnd.amazon.eventstream"):
            return from_converse_stream(data)
        if content_type.startswith("text/event-stream"):
            return from_sse(data)
        body = json.loads(data or b"{}")
        # count_tokens goes to the Anthropic-shaped routes; only /converse answers in Converse JSON
        return from_converse_json(body) if path.rstrip("/").endswith("/converse") else from_anthropic_json(body)


PROVIDER = BedrockConverse()
