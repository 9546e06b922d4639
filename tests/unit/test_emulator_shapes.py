"""The emulator answers in the shapes real providers use.

Each real recording in ../shared/reference/provider-captures/ (made by other projects
against the live services) is paired with the emulator's answer to the same kind of
exchange, and both are reduced to a *shape*: the sequence of event kinds in order of
first appearance, and the JSON field paths each kind carries (values aside). The two
must agree, up to fields that depend on when a recording was made (named beside each
pair, with the recording that shows it). docs/emulator-shapes.md lists what each
capture shows and what the emulator does with it.

Capture kinds the emulator does not produce are listed in UNCOVERED with the reason.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ccmatrix.emulator import EmulatedRequest, respond
from ccmatrix.emulator.plan import DIRECTIVE_PREFIX, REDACTED_THINKING_TRIGGER
from ccmatrix.wire import decode_eventstream, decode_sse
from tests.unit.reference_captures import CAPTURES, load

pytestmark = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"{CAPTURES} is not beside the checkout")

SIGV4 = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, "
                          "SignedHeaders=content-type;host;x-amz-date, Signature=00"}
FIRST_PARTY = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
VERTEX = {"authorization": "Bearer ya29.t"}
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-6"
TOOL_PROMPT = f"Run it.\n{DIRECTIVE_PREFIX} " + json.dumps({"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}})
BASH = {"name": "Bash", "description": "run a command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
THINKING = {"type": "enabled", "budget_tokens": 1024}

# Capture kinds the emulator does not produce, and why.
UNCOVERED: dict[str, str] = {
    # partly compared below: guardrail_invoke_blocked_stream (its framing only: ccmatrix configures no
    # guardrail), test_anthropic_native_tool_search_streaming (its client tool_use block: the emulator
    # runs no server-side tool search)
}


# ---------------------------------------------------------------- shapes


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Field paths, values aside (a tool's input is the model's own value: not looked into)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            if key != "input" or not isinstance(item, dict):
                out |= _paths(item, path)
    elif isinstance(value, list):
        for item in value:
            out |= _paths(item, f"{prefix}[]")
    return out


def _empty(value: Any) -> bool:
    return value == ""


def anthropic_kind(event: dict) -> str:
    kind = event["type"]
    if kind == "content_block_start":
        block = event["content_block"]
        return f"content_block_start:{block['type']}" + ("+citations" if "citations" in block else "")
    if kind == "content_block_delta":
        delta = event["delta"]
        value = next((delta[k] for k in ("thinking", "text", "partial_json") if k in delta), None)
        return f"content_block_delta:{delta['type']}" + ("(empty)" if _empty(value) else "")
    return kind


def converse_kind(event_type: str, payload: dict) -> str:
    if event_type == "contentBlockDelta":
        delta = payload["delta"]
        key = next(iter(delta))
        inner = delta[key]
        if isinstance(inner, dict):
            sub = next(iter(k for k in inner if k != "p"))
            return f"contentBlockDelta:{key}.{sub}" + ("(empty)" if _empty(inner[sub]) else "")
        return f"contentBlockDelta:{key}" + ("(empty)" if _empty(inner) else "")
    if event_type == "contentBlockStart":
        return f"contentBlockStart:{next(iter(payload['start']))}"
    return event_type


def shape(kinds_and_payloads: list[tuple[str, dict]], keep_empty: bool) -> tuple[list[str], dict[str, set[str]]]:
    """(kinds in order of first appearance, field paths per kind). Empty deltas vary from
    one response to the next (the same model sends them in one recording, not the next),
    so they are folded into their kind unless a pair asks to keep them."""
    sequence: list[str] = []
    fields: dict[str, set[str]] = {}
    for kind, payload in kinds_and_payloads:
        if kind == "ping":
            continue  # its position varies between recordings
        if not keep_empty:
            kind = kind.replace("(empty)", "")
        if kind not in sequence:
            sequence.append(kind)
        fields.setdefault(kind.replace("(empty)", ""), set()).update(_paths(payload))
    return sequence, fields


def sse_shape(events: list[dict], keep_empty: bool = False):  # type: ignore[no-untyped-def]
    return shape([(anthropic_kind(e), e) for e in events], keep_empty)


def converse_shape(frames: list[tuple[dict, dict]], keep_empty: bool = False):  # type: ignore[no-untyped-def]
    return shape([(converse_kind(h.get(":event-type") or f"exception:{h[':exception-type']}", p), p)
                  for h, p in frames], keep_empty)


def assert_same_shape(ours, theirs, era: frozenset[str] = frozenset(), only: set[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    (our_seq, our_fields), (their_seq, their_fields) = ours, theirs
    if only is None:
        assert our_seq == their_seq
    for kind in (only or set(their_fields)):
        assert kind in our_fields, f"the emulator never sends {kind}"
        differ = (our_fields[kind] ^ their_fields[kind]) - era
        assert not differ, f"{kind}: fields differ beyond the recording era: {sorted(differ)}"


def emulated(host: str, path: str, body: dict, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    res = respond(EmulatedRequest("POST", host, path, {"content-type": "application/json", **headers},
                                  json.dumps(body).encode()))
    assert res.status == 200, res.body
    return res


def our_sse(res) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e["data"] if "data" in e else json.loads(e["data_text"]) for e in decode_sse(res.body)]


def our_frames(res) -> list[tuple[dict, dict]]:  # type: ignore[no-untyped-def]
    return [({k: v["value"] if isinstance(v, dict) else v for k, v in m["headers"].items()}, m["payload"])
            for m in decode_eventstream(res.body)]


def their_sse(relative: str, index: int = 0) -> list[dict]:
    return [e["data"] for e in load(relative)[index].sse]


# ---------------------------------------------------------------- Anthropic SSE


NEWER_FIRST_PARTY = frozenset({"message.stop_details", "delta.stop_details", "message.usage.inference_geo"})


def test_first_party_thinking_stream():
    """pydantic-ai: claude-sonnet-4-0 with thinking (an older recording: no stop_details)."""
    theirs = sse_shape(their_sse("pydantic__pydantic-ai/test_anthropic_model_thinking_part_stream.yaml"))
    res = emulated("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-6", "max_tokens": 2048,
                   "thinking": THINKING, "stream": True, "messages": [{"role": "user", "content": "hi"}]}, FIRST_PARTY)
    assert_same_shape(sse_shape(our_sse(res)), theirs, NEWER_FIRST_PARTY)


def test_first_party_redacted_thinking_stream():
    """pydantic-ai: claude-sonnet-4-5 asked with Anthropic's redacted-thinking test string:
    two redacted_thinking blocks, whole in their start events, then text."""
    theirs = sse_shape(their_sse("pydantic__pydantic-ai/test_anthropic_model_thinking_part_redacted_stream.yaml"))
    res = emulated("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-6", "max_tokens": 2048,
                   "thinking": THINKING, "stream": True,
                   "messages": [{"role": "user", "content": REDACTED_THINKING_TRIGGER}]}, FIRST_PARTY)
    ours = our_sse(res)
    assert_same_shape(sse_shape(ours), theirs, NEWER_FIRST_PARTY)
    assert [e["content_block"]["type"] for e in ours if e["type"] == "content_block_start"] == \
        ["redacted_thinking", "redacted_thinking", "text"]


def test_first_party_client_tool_use_block():
    """pydantic-ai: claude-sonnet-4-6; its client tool_use block (caller, an empty first
    input fragment) and the message envelope (server tool usage aside)."""
    theirs = sse_shape(their_sse("pydantic__pydantic-ai/test_anthropic_native_tool_search_streaming.yaml"), keep_empty=True)
    res = emulated("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-6", "max_tokens": 2048, "stream": True,
                   "tools": [BASH], "messages": [{"role": "user", "content": TOOL_PROMPT}]}, FIRST_PARTY)
    ours = sse_shape(our_sse(res), keep_empty=True)
    assert "content_block_delta:input_json_delta(empty)" in ours[0]
    assert ours[0].index("content_block_delta:input_json_delta(empty)") < ours[0].index("content_block_delta:input_json_delta")
    assert_same_shape(ours, theirs, frozenset({"usage.server_tool_use", "usage.server_tool_use.web_search_requests",
                                               "usage.server_tool_use.web_fetch_requests"}),
                      only={"content_block_start:tool_use", "content_block_delta:input_json_delta", "message_start",
                            "message_delta", "message_stop", "content_block_stop"})


def test_first_party_web_search_stream():
    """pydantic-ai: claude-sonnet-4-0 with thinking and web_search: results whole in their
    start event, plain text, then text that cites (citations: [] then citations_delta)."""
    theirs = sse_shape(their_sse("pydantic__pydantic-ai/test_anthropic_model_web_search_tool_stream.yaml"))
    res = emulated("api.anthropic.com", "/v1/messages", {
        "model": "claude-sonnet-4-6", "max_tokens": 4096, "thinking": THINKING, "stream": True,
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
        "messages": [{"role": "user", "content": "Perform a web search for the query: ccmatrix"}]}, FIRST_PARTY)
    ours = sse_shape(our_sse(res))
    # the recording searches twice; the second search repeats kinds already seen
    assert_same_shape(ours, theirs, NEWER_FIRST_PARTY)


@pytest.mark.parametrize("capture", [
    "pydantic__pydantic-ai/test_anthropic_explicit_effort_xhigh_unsupported_model_errors.yaml",
    "pydantic__pydantic-ai/test_model_name_suggestion[anthropic].yaml",
])
def test_first_party_error_body(capture):
    theirs = load(capture)[0]
    res = respond(EmulatedRequest("POST", "api.anthropic.com", "/v1/messages", FIRST_PARTY,
                                  json.dumps({"model": "m", "max_tokens": 5}).encode()))
    assert res.status == 400 and theirs.status in (400, 404)
    assert _paths(json.loads(res.body)) == _paths(theirs.parsed)


def test_vertex_thinking_stream():
    """req_llm: claude-haiku-4-5@20251001 on streamRawPredict: smaller usage, ping first, no stop_details."""
    captured = load("agentjido__req_llm/google_vertex_anthropic/claude_haiku_4_5_20251001/reasoning_streaming.json")[0]
    theirs = sse_shape([e["data"] for e in captured.sse])
    path = "/v1/projects/p/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict"
    res = emulated("aiplatform.googleapis.com", path, {"anthropic_version": "vertex-2023-10-16", "max_tokens": 2048,
                   "thinking": THINKING, "stream": True, "messages": [{"role": "user", "content": "hi"}]}, VERTEX)
    assert_same_shape(sse_shape(our_sse(res)), theirs)
    assert res.headers["request-id"].startswith("req_vrtx_")


def test_vertex_tool_use_json():
    captured = load("agentjido__req_llm/google_vertex_anthropic/claude_sonnet_4_5_20250929/tool_round_trip_1.json")[0]
    path = "/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-6:rawPredict"
    res = emulated("aiplatform.googleapis.com", path, {"anthropic_version": "vertex-2023-10-16", "max_tokens": 512,
                   "tools": [BASH], "messages": [{"role": "user", "content": TOOL_PROMPT}]}, VERTEX)
    ours = json.loads(res.body)
    assert _paths(ours) == _paths(captured.parsed)
    assert ours["content"][0]["id"].startswith("toolu_vrtx_01")


# ---------------------------------------------------------------- Bedrock


def _converse_body(thinking: bool, tools: bool, prompt: str = "hi") -> dict:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": [{"text": prompt}]}],
                            "inferenceConfig": {"maxTokens": 2048}}
    if thinking:
        body["additionalModelRequestFields"] = {"thinking": THINKING}
    if tools:
        body["toolConfig"] = {"tools": [{"toolSpec": {"name": "Bash", "description": "run",
                                                      "inputSchema": {"json": BASH["input_schema"]}}}]}
    return body


def test_converse_stream_reasoning_on_haiku_sends_the_empty_delta():
    """req_llm: Haiku 4.5 converse-stream sends an empty reasoning text delta just before the
    signature (what LiteLLM <= 1.93.0 turns into a text_delta Claude Code refuses)."""
    frames = load("agentjido__req_llm/converse_reasoning_streaming.json")[0].frames
    theirs = converse_shape(frames, keep_empty=True)
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/converse-stream",
                   _converse_body(thinking=True, tools=False), SIGV4)
    ours = our_frames(res)
    assert_same_shape(converse_shape(ours, keep_empty=True), theirs)
    assert all(list(h) == [":event-type", ":content-type", ":message-type"] for h, _ in ours)
    assert all(list(p) == sorted(p) and isinstance(p["p"], str) for _, p in ours)  # sorted keys, padded


def test_converse_stream_redacted_thinking():
    """pydantic-ai: 3.7 Sonnet converse-stream with the test string: reasoningContent.redactedContent
    deltas (base64 of the opaque bytes), one block each, then text."""
    exchanges = load("pydantic__pydantic-ai/test_bedrock_model_thinking_part_redacted_stream.yaml")
    frames = next(e for e in exchanges if e.url.endswith("converse-stream")).frames
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{SONNET}/converse-stream",
                   _converse_body(thinking=True, tools=False, prompt=REDACTED_THINKING_TRIGGER), SIGV4)
    ours = our_frames(res)
    # the older recording's usage has no serverToolUsage
    assert_same_shape(converse_shape(ours), converse_shape(frames), frozenset({"usage.serverToolUsage"}))
    redacted = [p["delta"]["reasoningContent"]["redactedContent"] for h, p in ours
                if "reasoningContent" in p.get("delta", {})]
    assert len(redacted) == 2 and all(base64.b64decode(r, validate=True) for r in redacted)


@pytest.mark.parametrize("capture", [
    "pydantic__pydantic-ai/test_bedrock_model_thinking_part_stream.yaml",  # Sonnet 4 (older: no serverToolUsage)
    "langchain-ai__langchain-aws/test_thinking[v1].yaml.gz",  # Sonnet 5, adaptive thinking
])
def test_converse_stream_reasoning_on_sonnet(capture):
    """converse-stream on Sonnet: no empty reasoning delta before the signature."""
    exchanges = load(capture)
    frames = next(e for e in exchanges if e.url.endswith("converse-stream")).frames
    theirs = converse_shape(frames, keep_empty=True)
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{SONNET}/converse-stream",
                   _converse_body(thinking=True, tools=False), SIGV4)
    assert_same_shape(converse_shape(our_frames(res), keep_empty=True), theirs, frozenset({"usage.serverToolUsage"}))


def test_converse_stream_tool_use():
    """langchain-aws: Sonnet 5 converse-stream answering with a tool only: contentBlockStart with
    the tool's name, id and type, then an empty first input fragment."""
    exchanges = load("langchain-ai__langchain-aws/test_agent_loop_streaming[v1].yaml.gz")
    captured = next(e for e in exchanges if e.url.endswith("converse-stream"))
    theirs = converse_shape(captured.frames, keep_empty=True)
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{SONNET}/converse-stream",
                   _converse_body(thinking=False, tools=True, prompt=TOOL_PROMPT), SIGV4)
    assert_same_shape(converse_shape(our_frames(res), keep_empty=True), theirs)


def test_converse_stream_text_then_tool_use_in_an_older_recording():
    """langchain-aws (an older version, Sonnet 4): text then a tool, no `type` in the tool's
    start; its tool part is compared (whether text comes first is the model's choice)."""
    exchanges = load("langchain-ai__langchain-aws/at-ca13c29e/test_agent_loop_streaming[v1].yaml.gz")
    captured = next(e for e in exchanges if e.url.endswith("converse-stream"))
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{SONNET}/converse-stream",
                   _converse_body(thinking=False, tools=True, prompt=TOOL_PROMPT), SIGV4)
    assert_same_shape(converse_shape(our_frames(res)), converse_shape(captured.frames),
                      frozenset({"start.toolUse.type", "usage.serverToolUsage"}),
                      only={"contentBlockStart:toolUse", "contentBlockDelta:toolUse.input", "contentBlockStop",
                            "messageStop", "metadata", "messageStart"})


@pytest.mark.parametrize("capture", [
    "pydantic__pydantic-ai/test_bedrock_anthropic_tool_with_thinking.yaml",  # 3.7 Sonnet (older usage)
    "pydantic__pydantic-ai/test_bedrock_model_thinking_part_anthropic_adaptive.yaml",  # Sonnet 4.6 adaptive
])
def test_converse_json_envelope(capture):
    """Converse JSON answers of other recordings: the same envelope (usage spellings vary by era)."""
    theirs = _paths(load(capture)[0].parsed)
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{SONNET}/converse",
                   _converse_body(thinking=True, tools=False), SIGV4)
    ours = _paths(json.loads(res.body))
    era = {"usage.cacheWriteInputTokenCount", "usage.cacheWriteInputTokens", "usage.serverToolUsage",
           "usage.cacheReadInputTokenCount", "usage.cacheReadInputTokens"}
    content = {p for p in theirs if p.startswith("output.message.content[].")}
    assert {p for p in ours ^ theirs if not p.startswith("output.message.content[].")} <= era
    assert {p for p in ours if p.startswith("output.message.content[].reasoningContent")} <= content


def test_invoke_json_of_a_newer_model():
    """pydantic-ai: Opus 4.8 on InvokeModel: the same Message envelope (its thinking-token detail aside)."""
    captured = load("pydantic__pydantic-ai/test_mid_conversation_system_prompt_on_bedrock.yaml")[0]
    theirs = _paths(captured.parsed) - {"usage.output_tokens_details", "usage.output_tokens_details.thinking_tokens"}
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", "/model/us.anthropic.claude-opus-4-7/invoke", body, SIGV4)
    assert _paths(json.loads(res.body)) == theirs


def test_converse_json_reasoning_and_tool_use():
    captured = load("agentjido__req_llm/converse_reasoning_tool_1.json")[0]
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/converse",
                   _converse_body(thinking=True, tools=True, prompt=TOOL_PROMPT), SIGV4)
    ours = json.loads(res.body)
    assert _paths(ours) == _paths(captured.parsed)
    assert res.body.decode() == json.dumps(ours, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_invoke_json():
    """req_llm: Haiku 4.5 InvokeModel (its guardrail fields aside: ccmatrix configures no guardrail)."""
    captured = load("agentjido__req_llm/guardrail_invoke_allowed.json")[0]
    theirs = {p for p in _paths(captured.parsed) if not p.startswith("amazon-bedrock-")}
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/invoke", body, SIGV4)
    assert _paths(json.loads(res.body)) == theirs


def test_invoke_stream_framing():
    """req_llm's (guardrail-blocked) InvokeModel stream: `chunk` frames of {"bytes", "p"}, each
    holding one compact, unpadded Anthropic event."""
    frames = load("agentjido__req_llm/guardrail_invoke_blocked_stream.json")[0].frames
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/invoke-with-response-stream", body, SIGV4)
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(res.body)
    ours = [(dict(m.headers), json.loads(m.payload)) for m in buffer]
    for headers_payloads in (ours, frames):
        for headers, payload in headers_payloads:
            assert list(headers) == [":event-type", ":content-type", ":message-type"] and headers[":event-type"] == "chunk"
            assert list(payload) == ["bytes", "p"]
            inner = base64.b64decode(payload["bytes"]).decode()
            assert inner == json.dumps(json.loads(inner), separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("capture", ["pydantic__pydantic-ai/test_bedrock_error.yaml",
                                     "pydantic__pydantic-ai/test_bedrock_streaming_error.yaml"])
def test_bedrock_error_body(capture):
    """A Bedrock error before any stream is plain JSON {"message"}, for converse-stream too."""
    captured = load(capture)[0]
    res = respond(EmulatedRequest("POST", "bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/invoke",
                                  {"content-type": "application/json", **SIGV4}, b'{"messages": []}'))
    assert res.status == captured.status == 400
    assert _paths(json.loads(res.body)) == _paths(captured.parsed) == {"message"}


def _fault_prompt(fault: dict) -> str:
    return f"Describe this image.\n{DIRECTIVE_PREFIX} " + json.dumps({"stream_exception": fault})


def test_converse_stream_exception_inside_the_200():
    """req_llm: converse-stream failing after the 200 (Nova Lite refusing a non-PNG image):
    one frame, `:message-type: exception`, `:exception-type: validationException`, a body
    {"message"}. The emulator makes the same frame when a directive asks for it (no Claude
    capture of one exists in the reference set: only the emulator shows it for Claude)."""
    captured = load("agentjido__req_llm/converse_stream_validation_exception.json")[0]
    message = "The model returned the following errors: The detected file MIME type text/plain does not match"
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/converse-stream",
                   _converse_body(thinking=False, tools=False,
                                  prompt=_fault_prompt({"type": "validationException", "message": message})), SIGV4)
    ours = our_frames(res)
    assert res.status == captured.status == 200
    assert [h for h, _ in ours] == [h for h, _ in captured.frames]  # the frame's headers, values and order
    assert ours[0][1] == {"message": message}
    assert_same_shape(converse_shape(ours), converse_shape(captured.frames))


def test_converse_stream_exception_after_some_events():
    """The same frame mid-stream (what ModelStreamErrorException is): the events before it,
    then the exception; its type one that botocore's model lets ConverseStream carry."""
    res = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/converse-stream",
                   _converse_body(thinking=False, tools=False, prompt=_fault_prompt(
                       {"type": "modelStreamErrorException", "message": "stream broke", "after_events": 2})), SIGV4)
    kinds = converse_shape(our_frames(res))[0]
    assert kinds == ["messageStart", "contentBlockDelta:text", "exception:modelStreamErrorException"]
    unknown = emulated("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU}/converse-stream",
                       _converse_body(thinking=False, tools=False, prompt=_fault_prompt({"type": "NoSuchException"})),
                       SIGV4)
    assert converse_shape(our_frames(unknown))[0] == ["exception:modelStreamErrorException"]


def test_every_capture_is_compared_or_named_as_uncovered():
    """A capture added to the reference set must be paired here, or named in UNCOVERED."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    for path in sorted(CAPTURES.rglob("*")):
        if path.is_file() and path.name not in ("README.md", "SHA256SUMS"):
            assert path.name.replace(".yaml.gz", "").replace(".yaml", "").replace(".json", "") in source, path
