"""OpenAI's Responses API (`POST /v1/responses`; Azure OpenAI's `/openai/responses` and
`/openai/v1/responses`): what LiteLLM sends Claude Code's Messages requests to for the
GPT-5.6 columns (docs/gpt-columns.md, measured for 1.83.14, 1.93.0 and 1.110.2).

A request's `input` items (messages with roles developer/system/user/assistant,
`function_call` and `function_call_output` items, `reasoning` items) and `tools` are read
into the provider-neutral `Conversation` and answered from the same `ReplyPlan` as every
other route: a `response` object, or with `stream: true` its typed SSE events
(`event: response.created` ... `event: response.completed`, each `data` carrying its
`type` and a `sequence_number` counting from 0).

Shapes: the response object as a real gpt-5.6-sol answer has it
(tests/reference/openai-captures/, the Azure capture, less Azure's content filters);
the event sequence as OpenAI's API reference lists it ("Streaming events"), its
delta events padded with `obfuscation` as OpenAI's are. A GPT-5-class model reasons
first: a `reasoning` item leads the output (its text withheld; `encrypted_content`
when the request asks for it in `include`), counted in `reasoning_tokens`.
"""

from __future__ import annotations

import base64
from typing import Any

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.emulator.openai_chat import SSE_HEADERS, call_id, reasoning_tokens
from ccmatrix.emulator.plan import Conversation, ReplyPlan, ToolSpec, plan_reply, split_json, split_text
from ccmatrix.providers import ids
from ccmatrix.wire.sse import encode_sse_event

ENCRYPTED_REASONING = "reasoning.encrypted_content"


# ---------------------------------------------------------------- the request


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content
                         if isinstance(p, dict) and p.get("type") in ("input_text", "output_text", "text"))
    return ""


def _images(value: Any) -> int:
    return sum(1 for p in value if isinstance(p, dict) and p.get("type") == "input_image") if isinstance(value, list) else 0


def _files(value: Any) -> int:
    return sum(1 for p in value if isinstance(p, dict) and p.get("type") == "input_file") if isinstance(value, list) else 0


def _is_message(item: dict, role: str) -> bool:
    return item.get("type", "message") == "message" and item.get("role") == role


def conversation(req: EmulatedRequest, body: dict) -> Conversation:
    raw = body.get("input")
    items = [{"type": "message", "role": "user", "content": raw}] if isinstance(raw, str) else \
        [i for i in raw or [] if isinstance(i, dict)]
    users = [i for i in items if _is_message(i, "user")]
    last = items[-1] if items else {}
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    after = [i for prev, i in zip(items, items[1:]) if prev.get("type") == "function_call_output" and _is_message(i, "user")]
    tools = tuple(ToolSpec(name=str(t.get("name", "")), input_schema=t.get("parameters"))
                  for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function")
    return Conversation(
        seed=req.seed,
        body_size=len(req.stable_body),
        model=str(body.get("model", "")),
        message_count=len(items),
        first_user_text=_text(users[0].get("content")) if users else "",
        latest_user_text=_text(last.get("content")) if _is_message(last, "user") else "",
        tools=tools,
        assistant_tool_calls=tuple(str(i.get("name")) for i in items if i.get("type") == "function_call"),
        latest_has_tool_result=last.get("type") == "function_call_output",
        tool_results=len(outputs),
        images_in_results=sum(_images(i.get("output")) for i in outputs) + sum(_images(i.get("content")) for i in after),
        documents_in_results=sum(_files(i.get("output")) for i in outputs) + sum(_files(i.get("content")) for i in after),
    )


# ---------------------------------------------------------------- the answer


def _item_id(plan: ReplyPlan, prefix: str, n: int) -> str:
    """Output item ids: a prefix and 50 hex digits (msg_038c1731..., rs_..., fc_...)."""
    return prefix + ids.digest(plan.seed, f"{prefix}{n}").hex()[:50]


def usage(plan: ReplyPlan) -> dict:
    reasoning = reasoning_tokens(plan)
    output = plan.output_tokens + reasoning
    return {"input_tokens": plan.input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": plan.input_tokens + output}


def output_items(plan: ReplyPlan, body: dict) -> list[dict]:
    """The response's output, complete: reasoning, then the message, then the calls."""
    items: list[dict] = []
    if reasoning_tokens(plan):
        reasoning: dict[str, Any] = {"id": _item_id(plan, "rs_", 0), "type": "reasoning"}
        if ENCRYPTED_REASONING in (body.get("include") or []):
            # opaque to the client, echoed back as is; Fernet-like, as OpenAI's are
            reasoning["encrypted_content"] = "gAAAAAB" + base64.urlsafe_b64encode(
                ids.digest(plan.seed, "encrypted-reasoning") * 3).decode().rstrip("=")
        items.append({**reasoning, "summary": []})
    calls, text = plan.tool_calls, plan.text  # all there is (openai_chat.py says why)
    if text or not calls:
        items.append({"id": _item_id(plan, "msg_", 1), "type": "message", "status": "completed",
                      "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
                      # seen as final_answer in a gpt-5.6-sol answer; "commentary" before a
                      # call is what the emulator says (no capture shows one)
                      "phase": "commentary" if calls else "final_answer", "role": "assistant"})
    for n, call in enumerate(calls):
        items.append({"id": _item_id(plan, "fc_", 2 + n), "type": "function_call", "status": "completed",
                      "arguments": call.input_json, "call_id": call_id(call), "name": call.name})
    return items


def render_response(plan: ReplyPlan, body: dict, status: str = "completed", output: list[dict] | None = None) -> dict:
    """The `response` object; `status` "in_progress" (the stream's first events: no
    output, no usage yet) or "completed"."""
    done = status != "in_progress"
    created = ids.openai_created(plan.seed)
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    incomplete = done and plan.stop_reason == "max_tokens"
    return {
        "id": "resp_" + ids.digest(plan.seed, "resp_").hex()[:50], "object": "response", "created_at": created,
        "status": "incomplete" if incomplete else status, "background": False,
        "completed_at": created + ids.number(plan.seed, "latency", 1, 5) if done else None, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": plan.model,
        "output": (output if output is not None else output_items(plan, body)) if done else [],
        "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": reasoning.get("effort", "medium"), "summary": reasoning.get("summary")},
        "safety_identifier": None, "service_tier": "default", "store": body.get("store", True),
        "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_logprobs": 0,
        "top_p": 1.0, "truncation": "disabled", "usage": usage(plan) if done else None, "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def render_events(plan: ReplyPlan, body: dict) -> list[dict]:
    """The typed events of the streamed answer, in order, numbered."""
    events: list[dict] = []

    def emit(kind: str, obfuscate: bool = False, **fields: Any) -> None:
        event = {"type": kind, "sequence_number": len(events), **fields}
        if obfuscate:
            event["obfuscation"] = ids.openai_obfuscation(plan.seed, str(len(events)))
        events.append(event)

    emit("response.created", response=render_response(plan, body, "in_progress"))
    emit("response.in_progress", response=render_response(plan, body, "in_progress"))
    items = output_items(plan, body)
    for index, item in enumerate(items):
        where = {"output_index": index}
        if item["type"] == "message":
            part = item["content"][0]
            emit("response.output_item.added", **where, item={**item, "status": "in_progress", "content": []})
            at = {"item_id": item["id"], **where, "content_index": 0}
            emit("response.content_part.added", **at, part={**part, "text": ""})
            for piece in split_text(part["text"]):
                emit("response.output_text.delta", True, **at, delta=piece, logprobs=[])
            emit("response.output_text.done", **at, text=part["text"], logprobs=[])
            emit("response.content_part.done", **at, part=part)
        elif item["type"] == "function_call":
            emit("response.output_item.added", **where, item={**item, "status": "in_progress", "arguments": ""})
            for piece in split_json(item["arguments"], parts=4):
                emit("response.function_call_arguments.delta", True, item_id=item["id"], **where, delta=piece)
            emit("response.function_call_arguments.done", item_id=item["id"], **where, arguments=item["arguments"])
        else:
            emit("response.output_item.added", **where, item=item)
        emit("response.output_item.done", **where, item=item)
    final = render_response(plan, body, output=items)
    emit("response.incomplete" if final["status"] == "incomplete" else "response.completed", response=final)
    return events


def sse_chunks(events: list[dict]) -> list[bytes]:
    """One `event:` + `data:` pair per event (no `[DONE]`: the last event ends it)."""
    return [encode_sse_event({"event": e["type"], "data": e}) for e in events]


def answer(req: EmulatedRequest, body: dict, headers: dict[str, str]) -> EmulatedResponse:
    """A Responses body -> the response object, or its event stream."""
    plan = plan_reply(conversation(req, body))
    if body.get("stream") is True:
        return EmulatedResponse(200, {**SSE_HEADERS, **headers}, sse_chunks(render_events(plan, body)))
    return json_response(200, render_response(plan, body), headers)

