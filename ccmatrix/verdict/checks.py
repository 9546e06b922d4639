"""Client-side checks: does the response give Claude Code what it needs?

Each check is a function named in a Feature's `checks`; it returns a list of
problems (empty = pass). `upstream` holds what the provider sent for each turn,
as the same `AssistantMessage` shape as the client's, so a response transform
that loses or alters content is caught as surely as a request transform.
"""

from __future__ import annotations

from typing import Callable

from ccmatrix.catalog import STRUCTURED_OUTPUT_SCHEMA
from ccmatrix.client.driver import ClientExchange
from ccmatrix.wire.messages import AssistantMessage

Check = Callable[[list[ClientExchange], list[AssistantMessage]], list[str]]


def _final(exchanges: list[ClientExchange]) -> ClientExchange | None:
    return exchanges[-1] if exchanges else None


def assistant_text(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    last = _final(exchanges)
    if last is None or last.message is None:
        return []  # a failed request is reported by the driver already
    return [] if last.message.text.strip() else ["assistant_text: the final response has no assistant text"]


def well_formed_stream(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    problems = []
    for ex in exchanges:
        if ex.message is None:
            continue
        if not ex.content_type.startswith("text/event-stream"):
            problems.append(f"well_formed_stream: turn {ex.turn} answered {ex.content_type or 'no content type'}, not an SSE stream")
        problems += [f"well_formed_stream: turn {ex.turn}: {p}" for p in ex.message.stream_problems]
    return problems


def upstream_content_intact(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    problems = []
    for ex, sent in zip(exchanges, upstream):
        got = ex.message
        if got is None:
            continue
        where = f"upstream_content_intact: turn {ex.turn}"
        if got.text != sent.text:
            problems.append(f"{where}: text: provider sent {sent.text[:80]!r}, client got {got.text[:80]!r}")
        for kind in ("thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"):
            want = [b for b in sent.content if b.get("type") == kind]
            have = [b for b in got.content if b.get("type") == kind]
            problems += [f"{where}: {p}" for p in _block_differences(kind, want, have)]
        if sent.stop_reason != got.stop_reason:
            problems.append(f"{where}: stop_reason: provider sent {sent.stop_reason!r}, client got {got.stop_reason!r}")
        for key in ("input_tokens", "output_tokens"):
            if key in sent.usage and sent.usage.get(key) != got.usage.get(key):
                problems.append(f"{where}: usage.{key}: provider sent {sent.usage.get(key)}, client got {got.usage.get(key)}")
    return problems


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}... ({len(str(value))} chars)"


def _block_differences(kind: str, want: list[dict], have: list[dict]) -> list[str]:
    if len(want) != len(have):
        return [f"{kind} blocks: provider sent {len(want)}, client got {len(have)}"]
    problems = []
    for n, (w, h) in enumerate(zip(want, have)):
        for key in sorted(set(w) | set(h)):
            if w.get(key) != h.get(key):
                problems.append(f"{kind} block {n} {key}: provider sent {_short(w.get(key))}, client got {_short(h.get(key))}")
    return problems


def _messages(exchanges: list[ClientExchange]) -> list[AssistantMessage]:
    return [ex.message for ex in exchanges if ex.message is not None]


def _blocks(message: AssistantMessage, kind: str) -> list[dict]:
    return [b for b in message.content if b.get("type") == kind]


def thinking_block(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    """Claude Code needs a thinking block with its signature (it echoes both back)."""
    blocks = [b for m in _messages(exchanges) for b in _blocks(m, "thinking")]
    if not blocks:
        return ["thinking_block: no thinking block reached the client"]
    return [f"thinking_block: thinking block {n} has no signature" for n, b in enumerate(blocks) if not b.get("signature")]


def tool_use_roundtrip(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    """A tool_use with id, name and a JSON object input; the next turn answers it."""
    messages = _messages(exchanges)
    calls = [(n, b) for n, m in enumerate(messages) for b in _blocks(m, "tool_use")]
    if not calls:
        return ["tool_use_roundtrip: no tool_use block reached the client"]
    problems = []
    for n, call in calls:
        if not call.get("id") or not call.get("name"):
            problems.append(f"tool_use_roundtrip: turn {n}: tool_use without id or name: {call!r:.120}")
        if not isinstance(call.get("input"), dict):
            problems.append(f"tool_use_roundtrip: turn {n}: tool input is not a JSON object: {call.get('input')!r:.120}")
        if messages[n].stop_reason != "tool_use":
            problems.append(f"tool_use_roundtrip: turn {n}: stop_reason {messages[n].stop_reason!r}, expected 'tool_use'")
    if len(exchanges) < 2:
        problems.append("tool_use_roundtrip: the conversation ended before the tool result was sent back")
    return problems


def tool_input_streamed(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    """Fine-grained tool streaming: the tool input arrives as input_json_delta events."""
    for ex in exchanges:
        m = ex.message
        if m is None:
            continue
        for index, block in enumerate(m.content):
            if block.get("type") == "tool_use":
                if "input_json_delta" in m.delta_types.get(index, set()):
                    return []
                return [f"tool_input_streamed: turn {ex.turn}: tool_use input did not arrive as input_json_delta"]
    return ["tool_input_streamed: no streamed tool_use block reached the client"]


def cache_usage(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    """Claude Code reads cache creation/read counts from usage; the provider reported them."""
    problems = []
    for ex, sent in zip(exchanges, upstream):
        got = ex.message
        if got is None:
            continue
        for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            if not isinstance(got.raw_usage.get(key), int):
                problems.append(f"cache_usage: turn {ex.turn}: usage.{key} missing from the response")
            elif key in sent.raw_usage and sent.raw_usage[key] != got.raw_usage[key]:
                problems.append(f"cache_usage: turn {ex.turn}: usage.{key}: provider sent {sent.raw_usage[key]}, "
                                f"client got {got.raw_usage[key]}")
    return problems


def web_search_results(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    for m in _messages(exchanges):
        results = _blocks(m, "web_search_tool_result")
        if results and _blocks(m, "server_tool_use"):
            return []
    return ["web_search_results: no server_tool_use with a web_search_tool_result reached the client"]


def structured_output(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    """--json-schema: the answer is a StructuredOutput tool call whose input has the
    keys the row's schema requires (catalog.STRUCTURED_OUTPUT_SCHEMA, what the scenario asked for)."""
    calls = [b for m in _messages(exchanges) for b in _blocks(m, "tool_use") if b.get("name") == "StructuredOutput"]
    if not calls:
        return ["structured_output: no StructuredOutput tool call reached the client"]
    data = calls[0].get("input")
    if not isinstance(data, dict) or not set(STRUCTURED_OUTPUT_SCHEMA["required"]) <= set(data):
        return [f"structured_output: input does not match the schema: {data!r:.120}"]
    return []


def input_tokens_counted(exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    last = _final(exchanges)
    if last is None or last.message is None:
        return []
    tokens = last.message.usage.get("input_tokens")
    return [] if isinstance(tokens, int) and tokens > 0 else [f"input_tokens_counted: input_tokens is {tokens!r}"]


CHECKS: dict[str, Check] = {
    "thinking_block": thinking_block,
    "tool_use_roundtrip": tool_use_roundtrip,
    "tool_input_streamed": tool_input_streamed,
    "cache_usage": cache_usage,
    "web_search_results": web_search_results,
    "structured_output": structured_output,
    "input_tokens_counted": input_tokens_counted,
    "assistant_text": assistant_text,
    "well_formed_stream": well_formed_stream,
    "upstream_content_intact": upstream_content_intact,
}


def run_checks(names: tuple[str, ...], exchanges: list[ClientExchange], upstream: list[AssistantMessage]) -> list[str]:
    problems: list[str] = []
    for name in names:
        problems += CHECKS[name](exchanges, upstream)
    return problems
