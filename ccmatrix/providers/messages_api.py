"""The Anthropic Messages request, as the providers that take it validate it.

First party, Azure AI Foundry, Vertex AI (rawPredict) and Bedrock InvokeModel all
take Messages bodies; each accepts its own top-level fields, and all reject unknown
keys inside the closed objects below ("metadata.tags: Extra inputs are not
permitted"). The key sets follow the Anthropic API reference; the anthropic SDK's
request types are the test oracle (tests/unit/test_contracts.py keeps every key
the SDK can send accepted here).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

from ccmatrix.providers import signatures
from ccmatrix.providers.contract import ProviderRequest, Rule, Shape, extra_inputs

API_REFERENCE = "https://platform.claude.com/docs/en/api/messages"
BETA_HEADERS_DOC = "https://platform.claude.com/docs/en/api/beta-headers"

_CACHE_CONTROL = Shape({"type": None, "ttl": None})
_CITATIONS = None  # citation objects vary by source; not looked into
_TEXT = Shape({"type": None, "text": None, "cache_control": _CACHE_CONTROL, "citations": _CITATIONS})
_IMAGE = Shape({"type": None, "source": None, "cache_control": _CACHE_CONTROL, "transformations": None})
_DOCUMENT = Shape({"type": None, "source": None, "title": None, "context": None, "citations": None,
                   "cache_control": _CACHE_CONTROL})
_TOOL_REFERENCE = Shape({"type": None, "tool_name": None, "cache_control": _CACHE_CONTROL})
_SEARCH_RESULT = Shape({"type": None, "source": None, "title": None, "content": None, "citations": None,
                        "cache_control": _CACHE_CONTROL})
_TOOL_RESULT_CONTENT = Shape(items=Shape(union={
    "text": _TEXT, "image": _IMAGE, "document": _DOCUMENT, "tool_reference": _TOOL_REFERENCE,
    "search_result": _SEARCH_RESULT,
}))
BLOCKS: dict[str, Shape | None] = {
    "text": _TEXT,
    "image": _IMAGE,
    "document": _DOCUMENT,
    "search_result": _SEARCH_RESULT,
    "tool_use": Shape({"type": None, "id": None, "name": None, "input": None, "cache_control": _CACHE_CONTROL,
                       "caller": None, "toolset_name": None}),
    "tool_result": Shape({"type": None, "tool_use_id": None, "content": _TOOL_RESULT_CONTENT, "is_error": None,
                          "cache_control": _CACHE_CONTROL, "toolset_name": None}),
    "thinking": Shape({"type": None, "thinking": None, "signature": None}),
    "redacted_thinking": Shape({"type": None, "data": None}),
    "server_tool_use": Shape({"type": None, "id": None, "name": None, "input": None, "cache_control": _CACHE_CONTROL,
                              "caller": None}),
    "web_search_tool_result": Shape({"type": None, "tool_use_id": None, "content": None,
                                     "cache_control": _CACHE_CONTROL, "caller": None}),
    "tool_search_tool_result": Shape({"type": None, "tool_use_id": None, "content": None,
                                      "cache_control": _CACHE_CONTROL}),
    "tool_reference": _TOOL_REFERENCE,
}
_MESSAGE = Shape({"role": None, "content": Shape(items=Shape(union=BLOCKS))})
_CUSTOM_TOOL = Shape({"type": None, "name": None, "description": None, "input_schema": None,
                      "cache_control": _CACHE_CONTROL, "defer_loading": None, "strict": None,
                      "eager_input_streaming": None, "input_examples": None, "allowed_callers": None})
_TOOL_CHOICE = Shape({"type": None, "name": None, "disable_parallel_tool_use": None})
_THINKING = Shape({"type": None, "budget_tokens": None, "display": None})
_METADATA = Shape({"user_id": None})  # only user_id (BerriAI/litellm#30629, #24661)
_OUTPUT_CONFIG = Shape({"effort": None, "format": None, "task_budget": None})

# What each closed object of a Messages body may hold (top level excluded: it differs
# per provider, see `body_fields`).
NESTED: dict[str, Shape | None] = {
    "messages": Shape(items=_MESSAGE),
    "system": Shape(items=Shape(union={"text": _TEXT})),
    "metadata": _METADATA,
    "thinking": _THINKING,
    "output_config": _OUTPUT_CONFIG,
    "tool_choice": _TOOL_CHOICE,
    "cache_control": _CACHE_CONTROL,
    "tools": None,  # custom tools are checked by `tools_shape_problem`; server tools vary by type
}

# Top-level fields, per provider (the Messages API reference; Vertex and Bedrock
# documentation for theirs).
FIRST_PARTY_FIELDS = frozenset({
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
    "top_k", "top_p", "tools", "tool_choice", "thinking", "output_config", "context_management", "container",
    "mcp_servers", "service_tier", "output_format", "cache_control", "inference_geo", "speed",
})
COUNT_TOKENS_FIELDS = frozenset({
    "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management",
    "output_config", "output_format", "cache_control",
})


def body_of(request: ProviderRequest) -> dict:
    return request.body if isinstance(request.body, dict) else {}


# ---------------------------------------------------------------- rule checks


def required(*names: str, phrase: Callable[[str], str] = lambda n: f"{n}: Field required") -> Callable[[ProviderRequest], str | None]:
    def check(request: ProviderRequest) -> str | None:
        if not isinstance(request.body, dict):
            return "The request body is not valid JSON."
        return next((phrase(n) for n in names if n not in request.body), None)

    return check


def field_types(request: ProviderRequest) -> str | None:
    body = body_of(request)
    if "messages" in body and not isinstance(body["messages"], list):
        return "messages: Input should be a valid list"
    if "max_tokens" in body and (not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool)):
        return "max_tokens: Input should be a valid integer"
    return None


def top_level_extras(allowed: frozenset[str],
                     phrase: Callable[[str], str] = lambda n: f"{n}: Extra inputs are not permitted"
                     ) -> Callable[[ProviderRequest], str | None]:
    return lambda request: next((phrase(k) for k in body_of(request) if k not in allowed), None)


def nested_extras(request: ProviderRequest) -> str | None:
    body = body_of(request)
    for key, shape in NESTED.items():
        if key in body:
            problem = extra_inputs(body[key], shape, key)
            if problem:
                return problem
    return tools_shape_problem(body.get("tools"))


def tools_shape_problem(tools: Any) -> str | None:
    """Custom tools (no `type`, or "custom") are closed objects; server tools vary by type."""
    if not isinstance(tools, list):
        return None
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") in (None, "custom"):
            problem = extra_inputs(tool, _CUSTOM_TOOL, f"tools.{index}")
            if problem:
                return problem
    return None


def thinking_blocks(body: dict) -> Iterable[tuple[str, str, str]]:
    """(where, thinking text, signature) of every echoed thinking block, Messages-shaped."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if isinstance(block, dict) and block.get("type") == "thinking":
                yield f"messages.{i}.content.{j}", str(block.get("thinking", "")), str(block.get("signature", ""))


def signature_problem(blocks: Iterable[tuple[str, str, str]]) -> str | None:
    for where, text, signature in blocks:
        if signatures.verify(signature, text) is False:
            return f"{where}: Invalid `signature` in `thinking` block"
    return None


def estimated_input_tokens(request: ProviderRequest) -> int:
    """The emulator's estimate (a quarter of the body's bytes), the same it reports as usage."""
    return max(1, len(json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode()) // 4)


ONE_MILLION_BETA = "context-1m-2025-08-07"


def context_window(request: ProviderRequest, native_1m: bool = False) -> int:
    """Haiku 4.5 has 200k; the others 1M with the context-1m beta, or natively where the
    provider documents it (Bedrock, for the 4.6 generation on)."""
    if "haiku" in request.model:
        return 200_000
    if native_1m or ONE_MILLION_BETA in request.header_betas or ONE_MILLION_BETA in request.body_betas():
        return 1_000_000
    return 200_000


def too_long(native_1m: bool = False) -> Callable[[ProviderRequest], str | None]:
    def check(request: ProviderRequest) -> str | None:
        tokens, window = estimated_input_tokens(request), context_window(request, native_1m)
        return f"prompt is too long: {tokens} tokens > {window} maximum" if tokens > window else None

    return check


CONTEXT_MANAGEMENT_BETAS = ("context-management-2025-06-27", "compact-2026-01-12")


def context_management_needs_header_beta(request: ProviderRequest) -> str | None:
    """A beta-gated body field without its beta: the field is unknown to the validator."""
    if "context_management" in body_of(request) and not set(CONTEXT_MANAGEMENT_BETAS) & set(request.header_betas):
        return "context_management: Extra inputs are not permitted"
    return None


def unexpected_header_betas(allowed: frozenset[str] | None = None,
                            rejected: frozenset[str] = frozenset()) -> Callable[[ProviderRequest], str | None]:
    """`Unexpected value(s) ... for the anthropic-beta header`: values in `rejected`, or
    (with `allowed`) any value not in it."""
    def check(request: ProviderRequest) -> str | None:
        bad = [b for b in request.header_betas if b in rejected or (allowed is not None and b not in allowed)]
        if not bad:
            return None
        values = ", ".join(f"`{b}`" for b in bad)
        return (f"Unexpected value(s) {values} for the `anthropic-beta` header. Please consult our documentation "
                "at docs.claude.com or try again without the header.")

    return check


# ---------------------------------------------------------------- the shared rules


def messages_rules(provider: str, fields: frozenset[str], required_fields: tuple[str, ...],
                   messages_route: Callable[[ProviderRequest], bool]) -> tuple[Rule, ...]:
    """The rules every Messages-body provider applies, with its own top-level fields."""
    return (
        Rule(f"{provider}.required-fields", "messages, max_tokens (and the provider's own) are required",
             (API_REFERENCE,), required(*required_fields), messages_route),
        Rule(f"{provider}.top-level-fields", "unknown top-level fields are rejected",
             (API_REFERENCE,), top_level_extras(fields), messages_route),
        Rule(f"{provider}.field-types", "messages is a list, max_tokens an integer",
             (API_REFERENCE,), field_types, messages_route),
        Rule(f"{provider}.closed-objects",
             "unknown keys inside metadata, thinking, output_config, tool_choice, cache_control, messages, "
             "system and custom tools are rejected (metadata holds only user_id)",
             ("https://github.com/BerriAI/litellm/issues/30629", "https://github.com/BerriAI/litellm/pull/24661",
              API_REFERENCE),
             nested_extras, messages_route),
        Rule(f"{provider}.thinking-signature",
             "a thinking block echoed back with any change is rejected (its signature covers the text)",
             ("https://github.com/anthropics/claude-code/issues/10627",
              "https://github.com/anthropics/anthropic-sdk-python/issues/1598"),
             lambda request: signature_problem(thinking_blocks(body_of(request))), messages_route),
    )


def model_pattern(request: ProviderRequest, pattern: str) -> bool:
    return bool(re.search(pattern, request.model))
