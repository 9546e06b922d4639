"""The Anthropic Messages API: body validation, rendering a plan as a Message or a
stream of events, and the first-party (api.anthropic.com) and Azure AI Foundry
routes. Vertex and Bedrock Invoke carry the same bodies and reuse this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ccmatrix.emulator import faults
from ccmatrix.emulator.exchange import (
    EmulatedRequest,
    EmulatedResponse,
    contract_answer,
    json_response,
    parse_json_object,
)
from ccmatrix.emulator.plan import (
    Conversation,
    RedactedThinkingBlock,
    ReplyPlan,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolSpec,
    ToolUseBlock,
    WebSearchResultBlock,
    document_text,
    plan_reply,
    split_json,
    split_text,
)
from ccmatrix.providers import Provider, anthropic, azure, bedrock_invoke, ids
from ccmatrix.wire.sse import encode_sse_event

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


# ---------------------------------------------------------------- validation


def error_body(error_type: str, message: str, request_id: str | None = None) -> dict:
    """The Anthropic error shape; real answers carry the request id in the body too."""
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id:
        body["request_id"] = request_id
    return body


def conversation(req: EmulatedRequest, body: dict, model: str) -> Conversation:
    """The provider-neutral view of a Messages body (thinking config and content included)."""
    thinking = body.get("thinking")
    wants_thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    display = thinking.get("display") if wants_thinking and thinking.get("display") else "summarized"
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    latest = messages[-1] if messages and messages[-1].get("role") == "user" else None
    calls: list[str] = []
    server_calls = 0
    for message in messages:
        if message.get("role") == "assistant":
            for block in _blocks(message.get("content")):
                if block.get("type") == "tool_use":
                    calls.append(str(block.get("name")))
                elif block.get("type") == "server_tool_use":
                    server_calls += 1
    results = images = documents = 0
    texts: list[str] = []
    for message in users:
        blocks = _blocks(message.get("content"))
        tool_results = [b for b in blocks if b.get("type") == "tool_result"]
        results += len(tool_results)
        if tool_results:
            # inside the results, and next to them (where some proxies move media)
            nested = [c for b in tool_results for c in _blocks(b.get("content"))]
            for inner in nested + blocks:
                images += inner.get("type") == "image"
                documents += inner.get("type") == "document"
        # documents anywhere in a user turn (Claude Code's Read sends a PDF in a user
        # message of its own, after the tool result)
        for inner in blocks + [c for b in tool_results for c in _blocks(b.get("content"))]:
            if inner.get("type") == "document" and isinstance(inner.get("source"), dict):
                texts.append(document_text(inner["source"].get("data")) or "")
    markers = _cache_markers(body)
    return Conversation(
        seed=req.seed,
        body_size=len(req.stable_body),
        model=model,
        message_count=len(body.get("messages") or []),
        thinking=wants_thinking,
        thinking_display=display,
        first_user_text=_text_of(users[0].get("content")) if users else "",
        latest_user_text=_text_of(latest.get("content")) if latest else "",
        tools=tuple(_tool_spec(tool) for tool in body.get("tools") or [] if isinstance(tool, dict)),
        assistant_tool_calls=tuple(calls),
        server_tool_calls=server_calls,
        latest_has_tool_result=latest is not None and any(b.get("type") == "tool_result" for b in _blocks(latest.get("content"))),
        tool_results=results,
        images_in_results=images,
        documents_in_results=documents,
        document_texts=tuple(texts),
        cache_markers=len(markers),
        cache_markers_1h=sum(1 for marker in markers if marker.get("ttl") == "1h"),
    )


def _blocks(content: Any) -> list[dict]:
    """Content as a list of block dicts (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def _text_of(content: Any) -> str:
    return "\n".join(str(block.get("text", "")) for block in _blocks(content) if block.get("type") == "text")


def _tool_spec(tool: dict) -> ToolSpec:
    return ToolSpec(name=str(tool.get("name", "")), type=tool.get("type"), input_schema=tool.get("input_schema"))


def _cache_markers(body: dict) -> list[dict]:
    """Every cache_control in the body: top level, system, tools, messages (nested results too)."""
    markers: list[dict] = []

    def visit(item: Any) -> None:
        if isinstance(item, dict):
            if isinstance(item.get("cache_control"), dict):
                markers.append(item["cache_control"])
            if isinstance(item.get("content"), list):
                for inner in item["content"]:
                    visit(inner)

    if isinstance(body.get("cache_control"), dict):
        markers.append(body["cache_control"])
    for key in ("system", "tools"):
        if isinstance(body.get(key), list):
            for block in body[key]:
                visit(block)
    for message in body.get("messages") or []:
        visit(message)
    return markers


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Style:
    """How one provider's Messages answers differ, from real recordings
    (shared/reference/provider-captures; docs/emulator-shapes.md lists which shows what)."""

    message_prefix: str  # msg_ (first party), msg_vrtx_ (Vertex); Bedrock's ids have their own form
    tool_prefix: str  # toolu_, toolu_vrtx_, toolu_bdrk_
    full_usage: bool  # message_start/Message usage has cache_creation{}, service_tier, inference_geo
    stop_details: bool  # stop_details: null in the Message and in message_delta
    cumulative_delta_usage: bool  # message_delta usage repeats input and cache counts (else output only)
    caller: bool  # client tool_use blocks carry caller {"type": "direct"}
    padded: bool  # SSE data JSON padded with 0-15 spaces before its closing brace
    ping_first: bool  # ping right after message_start (Vertex) rather than after the first block opens
    empty_thinking_delta: bool | str = False  # an empty thinking_delta before the signature ("haiku": Haiku only)
    inference_geo: bool = False  # usage.inference_geo (first-party recordings carry it)


FIRST_PARTY = Style("msg_", "toolu_", full_usage=True, stop_details=True, cumulative_delta_usage=True, caller=True,
                    padded=True, ping_first=False, empty_thinking_delta=True, inference_geo=True)
FOUNDRY = FIRST_PARTY  # Foundry serves the first-party API
VERTEX = Style("msg_vrtx_", "toolu_vrtx_", full_usage=False, stop_details=False, cumulative_delta_usage=False,
               caller=False, padded=True, ping_first=True)
# InvokeModel streams the model's own events unpadded inside its event stream; no
# ordinary Invoke stream is in the captures, so the rest follows its JSON answers and
# Converse (the same models: Haiku sends the empty reasoning delta there)
INVOKE = Style("msg_bdrk_", "toolu_bdrk_", full_usage=True, stop_details=True, cumulative_delta_usage=True,
               caller=True, padded=False, ping_first=False, empty_thinking_delta="haiku")


def tool_id(block: Any, style: Style) -> str:
    """The plan's content-derived id, in the provider's id shape."""
    return style.tool_prefix + block.id.split("_", 1)[1] if block.id.startswith("toolu_") else block.id


def _block_json(block: Any, style: Style = FIRST_PARTY) -> dict:
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if isinstance(block, RedactedThinkingBlock):
        return {"type": "redacted_thinking", "data": block.data}
    if isinstance(block, TextBlock):
        if block.citations:
            return {"citations": [dict(c) for c in block.citations], "type": "text", "text": block.text}
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        out = {"type": "tool_use", "id": tool_id(block, style), "name": block.name, "input": block.input}
        if style.caller:
            out["caller"] = {"type": "direct"}
        return out
    if isinstance(block, ServerToolUseBlock):
        return {"type": "server_tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, WebSearchResultBlock):
        return {"type": "web_search_tool_result", "tool_use_id": block.tool_use_id, "content": [dict(r) for r in block.results]}
    raise TypeError(f"no Messages rendering for {block!r}")


def _usage(plan: ReplyPlan, output_tokens: int, style: Style) -> dict:
    usage: dict[str, Any] = {
        "input_tokens": plan.input_tokens,
        "cache_creation_input_tokens": plan.cache_creation_input_tokens,
        "cache_read_input_tokens": plan.cache_read_input_tokens,
    }
    if style.full_usage:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": plan.cache_creation_5m_tokens,
            "ephemeral_1h_input_tokens": plan.cache_creation_1h_tokens or 0,
        }
    usage["output_tokens"] = output_tokens
    if plan.web_search_requests:
        usage["server_tool_use"] = _server_tool_usage(plan)
    if style.full_usage:
        usage["service_tier"] = "standard"
    if style.inference_geo:
        usage["inference_geo"] = "global"
    return usage


def _server_tool_usage(plan: ReplyPlan) -> dict:
    return {"web_search_requests": plan.web_search_requests, "web_fetch_requests": 0}


def render_message(plan: ReplyPlan, message_id: str, style: Style = FIRST_PARTY) -> dict:
    """The non-streaming Message object."""
    message: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": [_block_json(block, style) for block in plan.blocks],
        "stop_reason": plan.stop_reason,
        "stop_sequence": None,
    }
    if style.stop_details:
        message["stop_details"] = None
    message["usage"] = _usage(plan, plan.output_tokens, style)
    return message


def render_stream_events(plan: ReplyPlan, message_id: str, style: Style = FIRST_PARTY,
                         stop_extra: dict | None = None) -> list[dict]:
    """The stream event objects, in the order the real API sends them.

    `stop_extra` adds keys to message_stop (Bedrock puts its invocation metrics there).
    """
    start: dict[str, Any] = {"model": plan.model, "id": message_id, "type": "message", "role": "assistant",
                             "content": [], "stop_reason": None, "stop_sequence": None}
    if style.stop_details:
        start["stop_details"] = None
    start_usage = _usage(plan, 1, style)  # output_tokens 1: a placeholder, as the real API sends
    start_usage.pop("server_tool_use", None)  # counted once the searches ran (message_delta)
    start["usage"] = start_usage
    events: list[dict] = [{"type": "message_start", "message": start}]
    if style.ping_first:
        events.append({"type": "ping"})
    for index, block in enumerate(plan.blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": _empty_block(block, style)})
        if index == 0 and not style.ping_first:
            events.append({"type": "ping"})  # first party pings after the first block opens
        events.extend({"type": "content_block_delta", "index": index, "delta": delta}
                      for delta in _deltas(block, style, plan.model))
        events.append({"type": "content_block_stop", "index": index})
    delta: dict[str, Any] = {"stop_reason": plan.stop_reason, "stop_sequence": None}
    if style.stop_details:
        delta["stop_details"] = None
    if style.cumulative_delta_usage:
        # the final totals: input and cache counts again, all the output
        delta_usage = {k: v for k, v in _usage(plan, plan.output_tokens, style).items()
                       if k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                                "output_tokens", "server_tool_use")}
    else:
        delta_usage = {"output_tokens": plan.output_tokens}
        if plan.web_search_requests:
            delta_usage["server_tool_use"] = _server_tool_usage(plan)
    events.append({"type": "message_delta", "delta": delta, "usage": delta_usage})
    events.append({"type": "message_stop", **(stop_extra or {})})
    return events


def _empty_block(block: Any, style: Style) -> dict:
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": "", "signature": ""}
    if isinstance(block, (ToolUseBlock, ServerToolUseBlock)):
        return {**_block_json(block, style), "input": {}}
    if isinstance(block, (WebSearchResultBlock, RedactedThinkingBlock)):
        return _block_json(block, style)  # arrives complete, no deltas
    if isinstance(block, TextBlock) and block.citations:
        return {"citations": [], "type": "text", "text": ""}  # citations arrive as citations_delta
    return {"type": "text", "text": ""}


def _deltas(block: Any, style: Style, model: str) -> list[dict]:
    if isinstance(block, ThinkingBlock):
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in split_text(block.thinking)]
        if style.empty_thinking_delta is True or (style.empty_thinking_delta == "haiku" and "haiku" in model):
            deltas.append({"type": "thinking_delta", "thinking": ""})
        return deltas + [{"type": "signature_delta", "signature": block.signature}]
    if isinstance(block, (ToolUseBlock, ServerToolUseBlock)):
        # the input opens with an empty fragment, then the model's spaced JSON in pieces
        pieces = [""] + split_json(json.dumps(block.input, ensure_ascii=False))
        return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    if isinstance(block, (WebSearchResultBlock, RedactedThinkingBlock)):
        return []
    deltas = [{"type": "citations_delta", "citation": dict(c)} for c in block.citations]
    return deltas + [{"type": "text_delta", "text": piece} for piece in split_text(block.text)]


def sse_chunks(events: list[dict], style: Style, seed: str) -> list[bytes]:
    """One SSE event per chunk. Data is compact JSON, padded like the real API's (ping is
    written with Python's default spacing and never padded)."""
    chunks = []
    for n, event in enumerate(events):
        if event["type"] == "ping":
            chunks.append(encode_sse_event({"event": "ping", "data_text": '{"type": "ping"}'}))
            continue
        pad = ids.number(seed, f"pad:{n}", 0, 15) if style.padded else 0
        chunks.append(encode_sse_event({"event": event["type"], "data": event, "pad": pad}))
    return chunks


# ---------------------------------------------------------------- routes


def answer(req: EmulatedRequest, body: dict, model: str, *, provider: Provider, style: Style, stream: bool,
           headers: dict[str, str]) -> EmulatedResponse:
    """A validated Messages body -> the JSON Message or its SSE stream (or the provider's
    fault, when the conversation asks for one)."""
    asked = conversation(req, body, model)
    fault = faults.failing(asked, req)
    if (failed := faults.status_fault(provider, fault, req)) is not None:
        return failed
    plan = plan_reply(asked)
    message_id = ids.anthropic_id(req.seed, style.message_prefix)
    if stream:
        events = render_stream_events(plan, message_id, style)
        response = EmulatedResponse(200, {**SSE_HEADERS, **headers}, sse_chunks(events, style, req.seed))
        # a stream fault breaks it as Anthropic's break: an error event, then the end
        return faults.break_stream(response, provider, fault, [e["type"] for e in events],
                                   lambda error: encode_sse_event({"event": "error", "data": error}))
    return json_response(200, render_message(plan, message_id, style), headers)


def count_tokens(req: EmulatedRequest, headers: dict[str, str]) -> EmulatedResponse:
    """count_tokens answers with the same input_tokens a Messages call would report."""
    return json_response(200, {"input_tokens": max(1, len(req.stable_body) // 4)}, headers)


def first_party(req: EmulatedRequest) -> EmulatedResponse | None:
    """api.anthropic.com: /v1/messages and /v1/messages/count_tokens (`?beta=true` allowed)."""
    return _messages_route(req, anthropic.PROVIDER, FIRST_PARTY, prefix="", auth_headers=("x-api-key", "authorization"),
                           api_style=True)


def foundry(req: EmulatedRequest) -> EmulatedResponse | None:
    """Azure AI Foundry (`<resource>.services.ai.azure.com/anthropic/...`): the first-party API."""
    return _messages_route(req, azure.PROVIDER, FOUNDRY, prefix="/anthropic",
                           auth_headers=("x-api-key", "api-key", "authorization"), api_style=False)


def bedrock_mantle(req: EmulatedRequest) -> EmulatedResponse | None:
    """bedrock-mantle.<region>.api.aws/anthropic/...: Bedrock's Anthropic-compatible
    endpoint, where LiteLLM sends count_tokens for the newest models (SigV4-signed)."""
    return _messages_route(req, bedrock_invoke.PROVIDER, FIRST_PARTY, prefix="/anthropic",
                           auth_headers=("authorization",), api_style=False)


def _messages_route(req: EmulatedRequest, provider: Provider, style: Style, *, prefix: str,
                    auth_headers: tuple[str, ...], api_style: bool) -> EmulatedResponse | None:
    path = req.route_path.rstrip("/")
    if req.method != "POST" or path not in (f"{prefix}/v1/messages", f"{prefix}/v1/messages/count_tokens"):
        return None
    headers = {"request-id": ids.request_id(req.seed)}
    if not any(req.header(name) for name in auth_headers):
        if api_style:
            return json_response(401, error_body("authentication_error", "x-api-key header is required",
                                                 headers["request-id"]), headers)
        # Azure's gateway answers before the model does, in Azure's own shape
        message = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."
        return json_response(401, {"error": {"code": "401", "message": message}}, headers)
    if api_style and not req.header("anthropic-version"):
        return json_response(400, error_body("invalid_request_error", "anthropic-version: header is required",
                                             headers["request-id"]), headers)
    body = parse_json_object(req.body)
    rejected = contract_answer(provider, req, body)
    if rejected is not None:
        return rejected
    if path.endswith("/count_tokens"):
        return count_tokens(req, headers)
    return answer(req, body, str(body["model"]), provider=provider, style=style, stream=body.get("stream") is True,
                  headers=headers)
