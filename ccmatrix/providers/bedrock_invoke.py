"""Bedrock InvokeModel: Anthropic Messages bodies, answered in the AWS event stream."""

from __future__ import annotations

from ccmatrix.providers.bedrock import Bedrock
from ccmatrix.wire.messages import AssistantMessage, from_bedrock_invoke_stream


class BedrockInvoke(Bedrock):
    id = "bedrock_invoke"
    name = "Bedrock Invoke"
    label = "Invoke"
    litellm_prefix = "bedrock/invoke/"
    extra_base_fields = ("body.anthropic_version",)
    beta_fields = ("body.anthropic_beta",)

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        if content_type.startswith("application/vnd.amazon.eventstream"):
            return from_bedrock_invoke_stream(data)
        return super().decode_response(path, content_type, data)


PROVIDER = BedrockInvoke()
