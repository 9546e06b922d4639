"""Assistant messages, assembled from any provider's wire format.

The client side gets an Anthropic Messages response (JSON or SSE) from LiteLLM;
the provider sent Anthropic Messages, Bedrock Invoke (event stream of base64
Anthropic events) or Bedrock Converse (JSON or its own event stream). Reducing
both to one `AssistantMessage` lets a check say "what the provider sent reached
the client". Which decoder a provider's answers need is the provider's business
(`Provider.decode_response`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ccmatrix.wire.sse import decode_sse


@dataclass
class AssistantMessage:
    """One assistant turn, whatever wire format it arrived in."""

    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    # problems found while assembling a stream (out-of-order events, bad JSON ...)
    stream_problems: list[str] = field(default_factory=list)
    # delta types seen per content block index (streams only): how content arrived
    delta_types: dict[int, set[str]] = field(default_factory=dict)
    # every usage field as the client got it (cache fields included)
    raw_usage: dict[str, Any] = field(default_factory=dict)
    # what Claude Code itself refuses in this stream (it stops with "API Error: <this>")
    client_errors: list[str] = field(default_factory=list)
    # streams only: how many events, how many of them input_json_delta
    event_count: int = 0
    input_json_deltas: int = 0
    # text a content_block_start already carried for a text or thinking block, by index.
    # Claude Code (2.1.126, measured) starts such blocks empty and takes the deltas only,
    # so the text is dropped; a client that accumulates as the Anthropic SDK does
    # (MessageStream: the start's block, then every delta appended) gets it twice.
    start_text: dict[int, str] = field(default_factory=dict)
    # streams only: the error object of an `event: error` (the stream failed after it
    # started), and whether message_stop arrived (the answer is complete)
    stream_error: dict[str, Any] | None = None
    stopped: bool = False
    # the provider's reasoning reaches the client in a form of the proxy's choosing (OpenAI's
    # answers: see below), so thinking blocks are not compared with it
    opaque_reasoning: bool = False

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")


_KEEP = {
    "text": ("type", "text"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
    "tool_use": ("type", "id", "name", "input"),
    "server_tool_use": ("type", "id", "name", "input"),
    "web_search_tool_result": ("type", "tool_use_id", "content"),
}


def _block(block: dict[str, Any]) -> dict[str, Any]:
    keys = _KEEP.get(block.get("type", ""))
    return {k: block.get(k) for k in keys} if keys else dict(block)


def _usage(usage: dict[str, Any] | None) -> dict[str, int]:
    usage = usage or {}
    return {k: v for k, v in usage.items() if k in ("input_tokens", "output_tokens") and isinstance(v, int)}


def from_anthropic_json(message: dict[str, Any]) -> AssistantMessage:
    if "input_tokens" in message and "content" not in message:  # a count_tokens answer
        return AssistantMessage(usage=_usage(message), raw_usage=dict(message))
    return AssistantMessage(
        content=[_block(b) for b in message.get("content") or []],
        stop_reason=message.get("stop_reason"),
        usage=_usage(message.get("usage")),
        raw_usage=dict(message.get("usage") or {}),
    )


# which content block each delta type belongs in; Claude Code checks it and stops with
# "API Error: Content block is not a text block" (the published live matrix shows the
# text variant; the others follow the same check)
_DELTA_BLOCKS = {
    "text_delta": ("text",), "citations_delta": ("text",),
    "thinking_delta": ("thinking",), "signature_delta": ("thinking",),
    "input_json_delta": ("tool_use", "server_tool_use", "mcp_tool_use"),
}


def from_anthropic_events(events: list[dict[str, Any]]) -> AssistantMessage:
    """Assemble Anthropic stream events (already parsed JSON) as Claude Code does,
    checking their order."""
    out = AssistantMessage(event_count=len(events))
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    open_blocks: set[int] = set()
    seen_start = seen_stop = False
    for n, event in enumerate(events):
        kind = event.get("type")
        if kind in ("ping", None):
            continue
        if kind == "error":
            out.stream_problems.append(f"error event: {json.dumps(event.get('error'))[:200]}")
            if out.stream_error is None:
                out.stream_error = event.get("error") if isinstance(event.get("error"), dict) else {}
            continue
        if seen_stop:
            out.stream_problems.append(f"event {n} ({kind}) after message_stop")
        if kind == "message_start":
            if seen_start:
                out.stream_problems.append("second message_start")
            seen_start = True
            out.usage.update(_usage(event.get("message", {}).get("usage")))
            out.raw_usage.update(event.get("message", {}).get("usage") or {})
            continue
        if not seen_start:
            out.stream_problems.append(f"event {n} ({kind}) before message_start")
        index = event.get("index")
        if kind == "content_block_start":
            if index in blocks:
                out.stream_problems.append(f"content block {index} started twice")
            block = dict(event.get("content_block") or {})
            key = {"text": "text", "thinking": "thinking"}.get(block.get("type", ""))
            if key is not None:
                if block.get(key):
                    out.start_text[index] = block[key]
                block[key] = ""  # as Claude Code assembles it: from the deltas only
            blocks[index] = block
            open_blocks.add(index)
        elif kind == "content_block_delta":
            if index not in open_blocks:
                out.stream_problems.append(f"delta for content block {index} that is not open")
                continue
            delta, block = event.get("delta") or {}, blocks[index]
            dtype = delta.get("type")
            out.delta_types.setdefault(index, set()).add(dtype)
            fits = _DELTA_BLOCKS.get(dtype)
            if fits and block.get("type") not in fits:
                error = f"Content block is not a {fits[0]} block"
                if error not in out.client_errors:
                    out.client_errors.append(error)
                out.stream_problems.append(f"{dtype} for content block {index}, a {block.get('type')} block")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif dtype == "signature_delta":
                block["signature"] = block.get("signature", "") + delta.get("signature", "")
            elif dtype == "input_json_delta":
                out.input_json_deltas += 1
                partial_json[index] = partial_json.get(index, "") + delta.get("partial_json", "")
            elif dtype == "citations_delta":
                block.setdefault("citations", []).append(delta.get("citation"))
            else:
                out.stream_problems.append(f"unknown delta type {dtype!r}")
        elif kind == "content_block_stop":
            if index not in open_blocks:
                out.stream_problems.append(f"stop for content block {index} that is not open")
            open_blocks.discard(index)
            if index in partial_json:
                try:
                    blocks[index]["input"] = json.loads(partial_json[index] or "{}")
                except ValueError:
                    out.stream_problems.append(f"content block {index}: tool input is not JSON")
        elif kind == "message_delta":
            out.stop_reason = (event.get("delta") or {}).get("stop_reason", out.stop_reason)
            out.usage.update(_usage(event.get("usage")))
            out.raw_usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            seen_stop = True
    out.stopped = seen_stop
    if events and not seen_stop:
        out.stream_problems.append("stream ended without message_stop")
    if open_blocks:
        out.stream_problems.append(f"content blocks never stopped: {sorted(open_blocks)}")
    out.content = [_block(blocks[i]) for i in sorted(blocks)]
    return out


def from_sse(data: bytes) -> AssistantMessage:
    events = []
    for event in decode_sse(data):
        payload = event.get("data")
        if payload is None and "data_text" in event:
            try:
                payload = json.loads(event["data_text"])
            except ValueError:
                continue
        if isinstance(payload, dict):
            events.append(payload)
    return from_anthropic_events(events)


def _eventstream_messages(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [(dict(m.headers), m.payload) for m in buffer]


def from_bedrock_invoke_stream(data: bytes) -> AssistantMessage:
    events, problems = [], []
    for headers, payload in _eventstream_messages(data):
        if headers.get(":message-type") != "event":
            problems.append(f"{headers.get(':exception-type') or headers.get(':message-type')}: {payload[:200]!r}")
            continue
        if headers.get(":event-type") == "chunk":
            events.append(json.loads(base64.b64decode(json.loads(payload)["bytes"])))
    out = from_anthropic_events(events)
    out.stream_problems[:0] = problems
    return out


_CONVERSE_STOP = {"end_turn": "end_turn", "tool_use": "tool_use", "max_tokens": "max_tokens",
                  "stop_sequence": "stop_sequence"}


def _converse_block(block: dict[str, Any]) -> dict[str, Any]:
    if "text" in block:
        return {"type": "text", "text": block["text"]}
    if "reasoningContent" in block:
        rt = block["reasoningContent"].get("reasoningText") or {}
        return {"type": "thinking", "thinking": rt.get("text"), "signature": rt.get("signature")}
    if "toolUse" in block:
        tu = block["toolUse"]
        return {"type": "tool_use", "id": tu.get("toolUseId"), "name": tu.get("name"), "input": tu.get("input")}
    return dict(block)


def _converse_usage(usage: dict[str, Any] | None) -> dict[str, int]:
    usage = usage or {}
    return {"input_tokens": usage.get("inputTokens", 0), "output_tokens": usage.get("outputTokens", 0)}


def from_converse_json(body: dict[str, Any]) -> AssistantMessage:
    message = (body.get("output") or {}).get("message") or {}
    return AssistantMessage(
        content=[_converse_block(b) for b in message.get("content") or []],
        stop_reason=_CONVERSE_STOP.get(body.get("stopReason"), body.get("stopReason")),
        usage=_converse_usage(body.get("usage")),
    )


def from_converse_stream(data: bytes) -> AssistantMessage:
    out = AssistantMessage()
    blocks: dict[int, dict[str, Any]] = {}
    tool_json: dict[int, str] = {}
    for headers, payload in _eventstream_messages(data):
        if headers.get(":message-type") != "event":
            out.stream_problems.append(f"{headers.get(':message-type')}: {payload[:200]!r}")
            continue
        kind, event = headers.get(":event-type"), json.loads(payload or b"{}")
        index = event.get("contentBlockIndex", 0)
        if kind == "contentBlockStart":
            start = (event.get("start") or {}).get("toolUse")
            if start:
                blocks[index] = {"type": "tool_use", "id": start.get("toolUseId"), "name": start.get("name")}
        elif kind == "contentBlockDelta":
            delta = event.get("delta") or {}
            if "text" in delta:
                block = blocks.setdefault(index, {"type": "text", "text": ""})
                block["text"] += delta["text"]
            elif "redactedContent" in (delta.get("reasoningContent") or {}):
                blocks[index] = {"type": "redacted_thinking", "data": delta["reasoningContent"]["redactedContent"]}
            elif "reasoningContent" in delta:
                block = blocks.setdefault(index, {"type": "thinking", "thinking": "", "signature": ""})
                rc = delta["reasoningContent"]
                block["thinking"] += rc.get("text", "")
                block["signature"] += rc.get("signature", "")
            elif "toolUse" in delta:
                tool_json[index] = tool_json.get(index, "") + delta["toolUse"].get("input", "")
        elif kind == "contentBlockStop" and index in tool_json:
            blocks[index]["input"] = json.loads(tool_json[index] or "{}")
        elif kind == "messageStop":
            reason = event.get("stopReason")
            out.stop_reason = _CONVERSE_STOP.get(reason, reason)
        elif kind == "metadata":
            out.usage = _converse_usage(event.get("usage"))
    out.content = [_block(blocks[i]) for i in sorted(blocks)]
    return out


# ---------------------------------------------------------------- OpenAI (the GPT-5.6 columns)
# What LiteLLM translates back into Anthropic Messages for Claude Code: text, function
# calls as tool_use blocks (the call_id as their id), the stop reason the answer implies.
# Reasoning items are not blocks here (`opaque_reasoning`): LiteLLM hands them to Claude
# Code in a form of its own, by release (1.110.2: a redacted_thinking block whose data is
# "litellm_encrypted_reasoning:" + the encrypted_content; 1.93.0 streamed: a thinking
# block), for it to send back on the next turn.

_CHAT_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens", "content_filter": "refusal"}


def _arguments(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return text  # reported as it came: a client that got JSON differs from it


def from_openai_response(response: dict[str, Any]) -> AssistantMessage:
    """A Responses API response object (JSON, or a stream's final event's)."""
    out = AssistantMessage(opaque_reasoning=True)
    for item in response.get("output") or []:
        if item.get("type") == "message":
            text = "".join(part.get("text", "") for part in item.get("content") or []
                           if part.get("type") == "output_text")
            out.content.append({"type": "text", "text": text})
        elif item.get("type") == "function_call":
            out.content.append({"type": "tool_use", "id": item.get("call_id"), "name": item.get("name"),
                                "input": _arguments(item.get("arguments", ""))})
    if response.get("status") == "incomplete":
        out.stop_reason = "max_tokens"
    elif response.get("status") == "completed":
        out.stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in out.content) else "end_turn"
    usage = response.get("usage") or {}
    out.usage = {k: usage[k] for k in ("input_tokens", "output_tokens") if isinstance(usage.get(k), int)}
    return out


def from_openai_response_stream(data: bytes) -> AssistantMessage:
    """A Responses API event stream: its final response, or (a stream cut short) the
    output items it finished."""
    events = [e["data"] for e in decode_sse(data) if isinstance(e.get("data"), dict)]
    final = next((e["response"] for e in reversed(events)
                  if e.get("type") in ("response.completed", "response.incomplete", "response.failed")), None)
    if final is None:
        out = from_openai_response({"output": [e["item"] for e in events if e.get("type") == "response.output_item.done"]})
        out.stream_problems.append("the stream ended before response.completed")
    else:
        out = from_openai_response(final)
    out.event_count = len(events)
    return out


def from_openai_chat_completion(body: dict[str, Any]) -> AssistantMessage:
    """A Chat Completions answer (JSON)."""
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    out = AssistantMessage(stop_reason=_CHAT_STOP.get(choice.get("finish_reason"), choice.get("finish_reason")),
                           opaque_reasoning=True)
    if message.get("content"):
        out.content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        out.content.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"),
                            "input": _arguments(function.get("arguments", ""))})
    usage = body.get("usage") or {}
    out.usage = {"input_tokens": usage.get("prompt_tokens", 0), "output_tokens": usage.get("completion_tokens", 0)}
    return out


def from_openai_chat_stream(data: bytes) -> AssistantMessage:
    """Chat Completions chunks, reassembled: text, tool calls by index, the finish reason,
    the usage of the last chunk."""
    text, calls, finish, usage, count = "", {}, None, {}, 0
    for event in decode_sse(data):
        chunk = event.get("data")
        if not isinstance(chunk, dict):
            continue  # the [DONE] sentinel
        count += 1
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            text += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call.get("index", 0), {"id": None, "name": None, "arguments": ""})
                function = call.get("function") or {}
                entry["id"] = call.get("id") or entry["id"]
                entry["name"] = function.get("name") or entry["name"]
                entry["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    message = {"content": text or None, "tool_calls": [
        {"id": c["id"], "function": {"name": c["name"], "arguments": c["arguments"]}} for _, c in sorted(calls.items())]}
    out = from_openai_chat_completion({"choices": [{"message": message, "finish_reason": finish}], "usage": usage})
    out.event_count = count
    return out
