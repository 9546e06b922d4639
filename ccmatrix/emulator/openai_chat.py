"""OpenAI's Chat Completions API (`POST /v1/chat/completions`), the shape LiteLLM turns
Claude Code's Messages requests into for the GPT-5.6 columns.

A request is read into the provider-neutral `Conversation` (messages with roles
system/developer/user/assistant/tool, `tools` as functions) and answered from the same
`ReplyPlan` as every other route: a `chat.completion` object, or with `stream: true` its
`chat.completion.chunk` events as SSE `data:` lines ending in `data: [DONE]`. Shapes as
OpenAI sends them, checked against real recordings (tests/reference/openai-captures/,
tests/unit/test_openai_chat.py): the first chunk carries the role, a tool call opens with
its id, type, name and empty arguments and then streams the arguments in pieces, the
finish reason comes in a chunk with an empty delta, and with
`stream_options.include_usage` a last chunk carries the usage with no choices.

GPT-5-class models reason before they answer but Chat Completions returns no reasoning
text: the reasoning shows only as `completion_tokens_details.reasoning_tokens`.
"""

from __future__ import annotations

import json
from typing import Any

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.emulator.plan import Conversation, ReplyPlan, ToolSpec, ToolUseBlock, plan_reply, split_json, split_text
from ccmatrix.providers import ids
from ccmatrix.providers.contract import Violation
from ccmatrix.providers.openai_api import error_body, reasons
from ccmatrix.wire.sse import encode_sse_event

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}
DONE = "[DONE]"
FINISH_REASONS = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop_sequence": "stop"}


# ---------------------------------------------------------------- the request


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _parts(content: Any, kind: str) -> int:
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") == kind) if isinstance(content, list) else 0


def conversation(req: EmulatedRequest, body: dict, model: str) -> Conversation:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    last = messages[-1] if messages else {}
    calls = tuple(str((c.get("function") or {}).get("name")) for m in messages if m.get("role") == "assistant"
                  for c in m.get("tool_calls") or [] if isinstance(c, dict))
    results = [m for m in messages if m.get("role") == "tool"]
    # what a tool sent back: in its tool message, or (images, files) in the user message
    # LiteLLM adds right after the tool messages
    after_tools = [m for prev, m in zip(messages, messages[1:]) if prev.get("role") == "tool" and m.get("role") == "user"]
    tools = tuple(ToolSpec(name=str(t["function"].get("name", "")), input_schema=t["function"].get("parameters"))
                  for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict))
    return Conversation(
        seed=req.seed,
        body_size=len(req.stable_body),
        model=model,
        message_count=len(messages),
        first_user_text=_text(users[0].get("content")) if users else "",
        latest_user_text=_text(last.get("content")) if last.get("role") == "user" else "",
        tools=tools,
        assistant_tool_calls=calls,
        latest_has_tool_result=last.get("role") == "tool",
        tool_results=len(results),
        images_in_results=sum(_parts(m.get("content"), "image_url") for m in results + after_tools),
        documents_in_results=sum(_parts(m.get("content"), "file") for m in results + after_tools),
    )


# ---------------------------------------------------------------- the answer


# A plan's other blocks (thinking, server tools) come only of requests these APIs cannot
# make (no thinking field, no server tools): its text and tool calls are all there is.


def call_id(call: ToolUseBlock) -> str:
    # from the plan's own id, derived from the conversation's content: the same call
    # gets the same id on a retry of the request
    return ids.openai_call_id(call.id)


def reasoning_tokens(plan: ReplyPlan) -> int:
    """What a GPT-5-class model reasoned (both APIs count it in the output's usage)."""
    return ids.number(plan.seed, "reasoning-tokens", 8, 64) if reasons(plan.model) else 0


def usage(plan: ReplyPlan) -> dict:
    """Usage as OpenAI reports it; the reasoning a GPT-5-class model did counts in the
    completion tokens and is broken out as reasoning_tokens."""
    reasoning = reasoning_tokens(plan)
    completion = plan.output_tokens + reasoning
    return {
        "prompt_tokens": plan.input_tokens, "completion_tokens": completion,
        "total_tokens": plan.input_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _envelope(plan: ReplyPlan, obj: str) -> dict:
    return {"id": ids.openai_completion_id(plan.seed), "object": obj, "created": ids.openai_created(plan.seed),
            "model": plan.model, "service_tier": "default", "system_fingerprint": ids.openai_fingerprint(plan.seed)}


def render_completion(plan: ReplyPlan) -> dict:
    """The `chat.completion` object."""
    calls = plan.tool_calls
    message: dict[str, Any] = {"role": "assistant", "content": plan.text or None, "refusal": None,
                               "annotations": []}
    if calls:
        message["tool_calls"] = [{"id": call_id(c), "type": "function",
                                  "function": {"name": c.name, "arguments": c.input_json}} for c in calls]
    return {**_envelope(plan, "chat.completion"),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": FINISH_REASONS.get(plan.stop_reason, "stop")}],
            "usage": usage(plan)}


def render_chunks(plan: ReplyPlan, include_usage: bool, obfuscation: bool = True) -> list[dict]:
    """The `chat.completion.chunk` objects of the streamed answer, in order. Each carries
    `obfuscation`, random padding of varying length that hides the size of the delta
    (unless the request's stream_options.include_obfuscation is false)."""
    envelope = _envelope(plan, "chat.completion.chunk")
    calls, text = plan.tool_calls, plan.text
    chunks: list[dict] = []

    def add(choices: list[dict], usage_value: dict | None = None) -> None:
        chunk: dict[str, Any] = {**envelope, "choices": choices}
        if include_usage:
            chunk["usage"] = usage_value
        if obfuscation:
            chunk["obfuscation"] = ids.openai_obfuscation(plan.seed, str(len(chunks)))
        chunks.append(chunk)

    def delta(value: dict, finish: str | None = None) -> None:
        add([{"index": 0, "delta": value, "logprobs": None, "finish_reason": finish}])

    if text or not calls:
        delta({"role": "assistant", "content": "", "refusal": None})
        for piece in split_text(text):
            delta({"content": piece})
    for n, call in enumerate(calls):
        head = {"index": n, "id": call_id(call), "type": "function", "function": {"name": call.name, "arguments": ""}}
        if not chunks:  # a reply of tool calls only opens with the first call, the role beside it
            delta({"role": "assistant", "content": None, "tool_calls": [head], "refusal": None})
        else:
            delta({"tool_calls": [head]})
        for piece in split_json(call.input_json, parts=4):
            delta({"tool_calls": [{"index": n, "function": {"arguments": piece}}]})
    delta({}, FINISH_REASONS.get(plan.stop_reason, "stop"))
    if include_usage:
        add([], usage(plan))
    return chunks


def sse_chunks(chunks: list[dict]) -> list[bytes]:
    """One `data:` line per chunk, then `data: [DONE]` (no `event:` lines)."""
    return [encode_sse_event({"data": c}) for c in chunks] + [encode_sse_event({"data_text": DONE})]


def answer(req: EmulatedRequest, body: dict, model: str, headers: dict[str, str]) -> EmulatedResponse:
    """A Chat Completions body (already held to the contract) -> the completion, or its stream."""
    plan = plan_reply(conversation(req, body, model))
    if body.get("stream") is True:
        options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
        chunks = render_chunks(plan, bool(options.get("include_usage")), options.get("include_obfuscation") is not False)
        return EmulatedResponse(200, {**SSE_HEADERS, **headers}, sse_chunks(chunks))
    return json_response(200, render_completion(plan), headers)


def refusal(violation: Violation, headers: dict[str, str]) -> EmulatedResponse:
    """OpenAI's answer to a request that breaks its contract (either API's: one error body)."""
    return json_response(violation.rule.status, error_body(violation), headers)


def decode_stream(data: bytes) -> list[dict]:
    """The chunks of a streamed answer (the `[DONE]` sentinel left out)."""
    out = []
    for line in data.decode("utf-8").splitlines():
        if line.startswith("data: ") and line[6:] != DONE:
            out.append(json.loads(line[6:]))
    return out
