"""Bedrock's Converse API (/model/{id}/converse and /converse-stream).

Converse is Bedrock's provider-neutral shape: `messages` with content blocks
like `{"text": ...}`, `system` blocks, `inferenceConfig`, `toolConfig`, and
Anthropic-specific settings (thinking, output_config, betas) tucked into
`additionalModelRequestFields`. Answers are rendered from the same ReplyPlan
as every other route.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ccmatrix.emulator import faults
from ccmatrix.emulator.aws import (
    event_message,
    exception_frame,
    exception_message,
    stream_exception_types,
    stream_headers,
)
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, contract_answer, json_response
from ccmatrix.emulator.plan import (
    Conversation,
    RedactedThinkingBlock,
    ReplyPlan,
    TextBlock,
    ThinkingBlock,
    ToolSpec,
    ToolUseBlock,
    document_text,
    plan_reply,
    split_json,
    split_text,
)
from ccmatrix.providers import bedrock_converse, ids


def conversation(req: EmulatedRequest, body: dict, model: str) -> Conversation:
    extra = body.get("additionalModelRequestFields") or {}
    # "thinking" is today's field; "reasoning_config" what Claude 3.7 on Converse used
    thinking = (extra.get("thinking") or extra.get("reasoning_config")) if isinstance(extra, dict) else None
    wants_thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    messages = body["messages"]
    users = [m for m in messages if m.get("role") == "user"]
    latest = messages[-1] if messages[-1].get("role") == "user" else None
    calls: list[str] = []
    server_calls = 0
    for message in messages:
        if message.get("role") == "assistant":
            for block in message["content"]:
                use = block.get("toolUse")
                if isinstance(use, dict):
                    if use.get("type") == "server_tool_use":
                        server_calls += 1
                    else:
                        calls.append(str(use.get("name")))
    results = images = documents = 0
    texts: list[str] = []
    for message in users:
        tool_results = [b["toolResult"] for b in message["content"] if isinstance(b.get("toolResult"), dict)]
        results += len(tool_results)
        if tool_results:
            nested = [c for r in tool_results for c in r.get("content") or [] if isinstance(c, dict)]
            for inner in nested + message["content"]:
                images += "image" in inner
                documents += "document" in inner
        # documents anywhere in a user turn (Claude Code's Read sends a PDF in a user
        # message of its own, after the tool result)
        nested = [c for r in tool_results for c in r.get("content") or [] if isinstance(c, dict)]
        for inner in message["content"] + nested:
            if isinstance(inner.get("document"), dict):
                texts.append(document_text((inner["document"].get("source") or {}).get("bytes")) or "")
    tool_config = body.get("toolConfig") if isinstance(body.get("toolConfig"), dict) else {}
    tools = [t for t in tool_config.get("tools") or [] if isinstance(t, dict)]
    specs = tuple(
        ToolSpec(name=str(t["toolSpec"].get("name", "")), input_schema=(t["toolSpec"].get("inputSchema") or {}).get("json"))
        for t in tools
        if isinstance(t.get("toolSpec"), dict)
    )
    markers = [
        block["cachePoint"]
        for block in [*(body.get("system") or []), *tools, *(b for m in messages for b in m["content"])]
        if isinstance(block, dict) and isinstance(block.get("cachePoint"), dict)
    ]
    return Conversation(
        seed=req.seed,
        body_size=len(req.stable_body),
        model=model,
        message_count=len(messages),
        thinking=wants_thinking,
        thinking_display=(thinking.get("display") or "summarized") if wants_thinking else "summarized",
        first_user_text=_text_of(users[0]["content"]) if users else "",
        latest_user_text=_text_of(latest["content"]) if latest else "",
        tools=specs,
        assistant_tool_calls=tuple(calls),
        server_tool_calls=server_calls,
        latest_has_tool_result=latest is not None and any("toolResult" in b for b in latest["content"]),
        tool_results=results,
        images_in_results=images,
        documents_in_results=documents,
        document_texts=tuple(texts),
        cache_markers=len(markers),
        cache_markers_1h=sum(1 for marker in markers if marker.get("ttl") == "1h"),
    )


def _text_of(blocks: list[dict]) -> str:
    return "\n".join(str(block["text"]) for block in blocks if "text" in block)


def handle(req: EmulatedRequest, body: dict, model: str, stream: bool) -> EmulatedResponse:
    rejected = contract_answer(bedrock_converse.PROVIDER, req, body)
    if rejected is not None:
        return rejected
    asked = conversation(req, body, model)
    fault = faults.failing(asked, req)
    if (failed := faults.status_fault(bedrock_converse.PROVIDER, fault, req)) is not None:
        return failed
    plan = plan_reply(asked)
    if stream:
        events = render_stream(plan)
        chunks = [event_message(kind, aws_shaped(payload, ids.padding(req.seed, f"event:{n}")))
                  for n, (kind, payload) in enumerate(events)]
        exception = stream_exception(asked.directive)
        if exception is not None:  # the stream breaks after `after_events` events, inside the 200
            chunks = chunks[:exception["after_events"]] + [exception_message(exception["type"], exception["message"])]
        return faults.break_stream(EmulatedResponse(200, stream_headers(req.seed), chunks), bedrock_converse.PROVIDER,
                                   fault, [kind for kind, _ in events], exception_frame)
    return json_response(200, sorted_keys(render_response(plan)), {"x-amzn-RequestId": ids.aws_request_id(req.seed)})


def stream_exception(directive: dict | None) -> dict | None:
    """`{"stream_exception": {"type": "modelStreamErrorException", "message": "...",
    "after_events": 2}}` in a directive: the stream carries that exception frame after
    that many events (default 0, as in the real capture). Only the emulator makes this
    for Claude models on a request's say-so; the frame's shape is the capture's, its
    types are the ones botocore's model lets ConverseStream carry."""
    fault = (directive or {}).get("stream_exception")
    if not isinstance(fault, dict):
        return None
    kind = fault.get("type", "modelStreamErrorException")
    if kind not in stream_exception_types():
        kind = "modelStreamErrorException"
    after = fault.get("after_events", 0)
    return {"type": kind, "message": str(fault.get("message") or "The model stream failed."),
            "after_events": after if isinstance(after, int) and after >= 0 else 0}


def sorted_keys(value: Any) -> Any:
    """Bedrock writes its JSON with the keys sorted at every level."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


def aws_shaped(payload: dict, padding: str) -> dict:
    """A stream event payload as Bedrock sends it: keys sorted, with its `p` padding field."""
    return sorted_keys({**payload, "p": padding})


def _usage(plan: ReplyPlan, stream: bool) -> dict:
    """Converse usage, as recorded for Claude 4.5/4.6: serverToolUsage always, the cache
    counts in both spellings in JSON answers, and only when used in streams."""
    total = plan.input_tokens + plan.output_tokens + plan.cache_read_input_tokens + plan.cache_creation_input_tokens
    usage: dict[str, Any] = {"inputTokens": plan.input_tokens, "outputTokens": plan.output_tokens,
                             "serverToolUsage": {}, "totalTokens": total}
    cached = plan.cache_creation_input_tokens or plan.cache_read_input_tokens
    if not stream:
        usage["cacheReadInputTokenCount"] = usage["cacheReadInputTokens"] = plan.cache_read_input_tokens
    if cached:
        usage["cacheReadInputTokens"] = plan.cache_read_input_tokens
        usage["cacheWriteInputTokens"] = plan.cache_creation_input_tokens
        if not stream:
            usage["cacheWriteInputTokenCount"] = plan.cache_creation_input_tokens
        if plan.cache_creation_1h_tokens is not None:
            details = [("5m", plan.cache_creation_5m_tokens), ("1h", plan.cache_creation_1h_tokens)]
            usage["cacheDetails"] = [{"ttl": ttl, "inputTokens": n} for ttl, n in details if n]
    return usage


def tool_id(block: ToolUseBlock) -> str:
    """Converse's tool ids: tooluse_ + 22 base64url, derived from the plan's own id."""
    return ids.converse_tool_id(block.id)


def _redacted(block: RedactedThinkingBlock) -> str:
    # a blob member: base64 of the bytes on the wire (the real stream's redactedContent)
    return base64.b64encode(block.data.encode("ascii")).decode("ascii")


def _block_json(block: Any) -> dict:
    if isinstance(block, ThinkingBlock):
        return {"reasoningContent": {"reasoningText": {"text": block.thinking, "signature": block.signature}}}
    if isinstance(block, RedactedThinkingBlock):
        return {"reasoningContent": {"redactedContent": _redacted(block)}}
    if isinstance(block, TextBlock):
        return {"text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"toolUse": {"toolUseId": tool_id(block), "name": block.name, "input": block.input, "type": "tool_use"}}
    raise TypeError(f"no Converse rendering for {block!r}")


def render_response(plan: ReplyPlan) -> dict:
    return {
        "output": {"message": {"role": "assistant", "content": [_block_json(block) for block in plan.blocks]}},
        "stopReason": plan.stop_reason,
        "usage": _usage(plan, stream=False),
        "metrics": {"latencyMs": plan.latency_ms()},
    }


def render_stream(plan: ReplyPlan) -> list[tuple[str, dict]]:
    """(event type, payload) pairs in ConverseStream order.

    Bedrock sends no contentBlockStart for text or reasoning blocks (only for
    toolUse): the first delta opens the block.
    """
    events: list[tuple[str, dict]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(plan.blocks):
        if isinstance(block, ToolUseBlock):
            start = {"toolUse": {"toolUseId": tool_id(block), "name": block.name, "type": "tool_use"}}
            events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
        for delta in _deltas(block, plan.model):
            events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": delta}))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": plan.stop_reason}))
    events.append(("metadata", {"usage": _usage(plan, stream=True), "metrics": {"latencyMs": plan.latency_ms()}}))
    return events


def _deltas(block: Any, model: str) -> list[dict]:
    if isinstance(block, RedactedThinkingBlock):
        return [{"reasoningContent": {"redactedContent": _redacted(block)}}]
    if isinstance(block, ThinkingBlock):
        texts = [{"reasoningContent": {"text": piece}} for piece in split_text(block.thinking)]
        if "haiku" in model:
            # Haiku 4.5 sends an empty reasoning delta just before the signature (a real
            # converse-stream recording); LiteLLM <= 1.93.0 turns it into a text_delta
            texts.append({"reasoningContent": {"text": ""}})
        return texts + [{"reasoningContent": {"signature": block.signature}}]
    if isinstance(block, ToolUseBlock):
        # the input opens with an empty fragment, then the model's spaced JSON in pieces
        return [{"toolUse": {"input": piece}} for piece in [""] + split_json(json.dumps(block.input, ensure_ascii=False))]
    return [{"text": piece} for piece in split_text(block.text)]
