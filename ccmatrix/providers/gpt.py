"""What the GPT-5.6 columns share: Claude Code's Messages requests translated by
LiteLLM into OpenAI's APIs and back (issue 23, docs/gpt-columns.md).

The live harness (BerriAI/litellm `tests/e2e/claude_code/_gpt_cells.py`, manifest.yaml)
runs four rows on these columns, on the GPT-5.6 tiers; the other rows render
not_tested there. LiteLLM sends these deployments OpenAI's Responses API (measured in
1.83.14, 1.93.0 and 1.110.2; Bedrock Mantle before 1.110.2: Chat Completions), so
their requests are held to both APIs' contracts (`openai_api`) and refused in OpenAI's
error body.
"""

from __future__ import annotations

import json
from typing import ClassVar

from ccmatrix.providers import ids
from ccmatrix.providers.base import MISMATCH_STATUS, RESPONSES, ErrorAnswer, Provider
from ccmatrix.providers.contract import Rule, Violation, on_path
from ccmatrix.providers.openai_api import chat_completions_rules, error_body, responses_rules
from ccmatrix.wire.messages import (
    AssistantMessage,
    from_openai_chat_completion,
    from_openai_chat_stream,
    from_openai_response,
    from_openai_response_stream,
)

MANIFEST = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/manifest.yaml"
GPT_CELLS = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/_gpt_cells.py"
GPT_ROWS = ("basic_messaging_non_streaming", "basic_messaging_streaming", "tool_use", "tool_use_streaming")
ROWS_REASON = ("the live harness runs basic messaging and tool use only on the GPT-5.6 columns (manifest.yaml); "
               "its other rows render not_tested there")

RESPONSES_ROUTE = on_path(r"/responses$")
CHAT_ROUTE = on_path(r"/chat/completions$")


def contract(provider: str) -> tuple[Rule, ...]:
    """OpenAI's two APIs, each on its own route, under the provider's rule ids."""
    return responses_rules(provider, RESPONSES_ROUTE) + chat_completions_rules(provider, CHAT_ROUTE)


class GptProvider(Provider):
    """A GPT-5.6 column: subclasses give hosts, model ids, prefix, suffix, credentials."""

    tier_family = "gpt-5.6"
    rows = GPT_ROWS
    rows_reason = ROWS_REASON
    dialect = RESPONSES
    native_reference = "none"  # Claude Code speaks no OpenAI API itself: no native request to compare
    # where LiteLLM 1.110.2 turns /v1/messages into a Responses request and the answer back
    litellm_modules: ClassVar[tuple[str, ...]] = (
        "litellm/llms/anthropic/messages/native/handler.py",
        "litellm/llms/anthropic/messages/responses_adapters/transformation.py",
        "litellm/llms/anthropic/messages/responses_adapters/streaming_iterator.py",
    )

    def rejection(self, violation: Violation, seed: str) -> ErrorAnswer:
        return violation.rule.status, self._headers(seed), _json(error_body(violation))

    def unauthenticated(self, message: str, seed: str) -> ErrorAnswer:
        # OpenAI's 401: {"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}
        # (platform.openai.com/docs/guides/error-codes)
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
        return 401, self._headers(seed), _json(body)

    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
        return status, {"content-type": "application/json"}, _json(body)

    def fault_answer(self, kind: str, seed: str) -> ErrorAnswer | None:
        return None  # the fault rows are not among the rows these columns back

    def stream_fault_event(self) -> dict | None:
        return None

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        chat = path.split("?")[0].rstrip("/").endswith("/chat/completions")
        if content_type.startswith("text/event-stream"):
            return from_openai_chat_stream(data) if chat else from_openai_response_stream(data)
        body = json.loads(data or b"{}")
        return from_openai_chat_completion(body) if chat else from_openai_response(body)

    def _headers(self, seed: str) -> dict[str, str]:
        return {"content-type": "application/json", "x-request-id": ids.request_id(seed)}


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


__all__ = ["GPT_ROWS", "GptProvider", "contract"]
