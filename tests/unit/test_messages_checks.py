"""wire/messages.py (wire formats -> AssistantMessage), the providers' decoders, and checks.py (does the client get what was sent?).

Inputs are real wire bytes: the emulator's answers (`ccmatrix.emulator.respond`)
or events encoded with `ccmatrix.wire`, never hand-typed byte strings.
"""

from __future__ import annotations

import copy
import json

import pytest

from ccmatrix import catalog, wire
from ccmatrix.emulator import EmulatedRequest, respond
from ccmatrix.verdict.checks import CHECKS, ClientAnswer, client_stream_intact, run_checks, upstream_content_intact
from ccmatrix.wire.messages import (
    AssistantMessage,
    from_anthropic_events,
    from_anthropic_json,
    from_bedrock_invoke_stream,
    from_converse_json,
    from_converse_stream,
    from_sse,
)

HAIKU_BEDROCK = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SIGV4 = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, "
                          "SignedHeaders=host, Signature=00", "content-type": "application/json"}
ANTHROPIC = {"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"}
HELLO = [{"role": "user", "content": "Reply with one short sentence about tea."}]
THINKING = {"type": "enabled", "budget_tokens": 1024}


def emulate(host: str, path: str, body: dict, headers: dict) -> tuple[str, bytes]:
    res = respond(EmulatedRequest("POST", host, path, dict(headers), json.dumps(body).encode()))
    assert res.status == 200, res.body[:500]
    return res.headers.get("content-type", ""), res.body


def first_party(stream: bool, thinking: bool = True) -> bytes:
    body = {"model": "claude-haiku-4-5-20251001", "max_tokens": 4096, "messages": HELLO, "stream": stream}
    if thinking:
        body["thinking"] = THINKING
    return emulate("api.anthropic.com", "/v1/messages", body, ANTHROPIC)[1]


def bedrock(action: str, body: dict) -> bytes:
    return emulate("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK.replace(':', '%3A')}/{action}", body, SIGV4)[1]


INVOKE_BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 4096, "messages": HELLO, "thinking": THINKING}
CONVERSE_BODY = {"messages": [{"role": "user", "content": [{"text": "Reply with one short sentence about tea."}]}],
                 "inferenceConfig": {"maxTokens": 4096}, "additionalModelRequestFields": {"thinking": THINKING}}


def sse_events(data: bytes) -> list[dict]:
    return [e["data"] if "data" in e else json.loads(e["data_text"]) for e in wire.decode_sse(data)]


def encode_events(events: list[dict]) -> bytes:
    return wire.encode_sse([{"event": e["type"], "data": e} for e in events])


def tool_use_events() -> list[dict]:
    return [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
                                              "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "check."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"command": "l'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 's -la", "timeout": 5'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "}"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 42}},
        {"type": "message_stop"},
    ]


# ---------------------------------------------------------------- Anthropic SSE


def test_sse_with_thinking_matches_its_events_and_the_json_shape():
    data = first_party(stream=True)
    events = sse_events(data)
    message = from_sse(data)
    assert message.stream_problems == []
    assert [b["type"] for b in message.content] == ["thinking", "text"]
    thinking, text = message.content
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    assert thinking["thinking"] == "".join(d.get("thinking", "") for d in deltas if d["type"] == "thinking_delta")
    assert thinking["signature"] == "".join(d["signature"] for d in deltas if d["type"] == "signature_delta") != ""
    assert text == {"type": "text", "text": "".join(d["text"] for d in deltas if d["type"] == "text_delta")}
    assert message.text == text["text"] != ""
    assert message.stop_reason == "end_turn"
    assert message.usage == {"input_tokens": events[0]["message"]["usage"]["input_tokens"],
                             "output_tokens": events[-2]["usage"]["output_tokens"]}
    # the non-streaming answer to the same conversation has the same shape and text
    json_message = from_anthropic_json(json.loads(first_party(stream=False)))
    assert [b["type"] for b in json_message.content] == ["thinking", "text"]
    assert json_message.text == message.text and json_message.content[0]["thinking"] == thinking["thinking"]
    assert json_message.content[0]["signature"]


def test_sse_tool_use_from_input_json_deltas():
    message = from_sse(encode_events(tool_use_events()))
    assert message.stream_problems == []
    assert message.content == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls -la", "timeout": 5}},
    ]
    assert message.stop_reason == "tool_use" and message.usage == {"input_tokens": 12, "output_tokens": 42}


def test_tool_use_without_deltas_keeps_an_empty_input():
    events = [e for e in tool_use_events() if e.get("delta", {}).get("type") != "input_json_delta"]
    message = from_anthropic_events(events)
    assert message.content[1]["input"] == {} and message.stream_problems == []


def _problems(mutate) -> list[str]:
    events = tool_use_events()
    mutate(events)
    return from_sse(encode_events(events)).stream_problems


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("delta before its block starts",
         lambda ev: ev.insert(1, {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
         "delta for content block 0 that is not open"),
        ("delta after its block stopped",
         lambda ev: ev.insert(6, {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
         "delta for content block 0 that is not open"),
        ("no message_stop", lambda ev: ev.pop(), "stream ended without message_stop"),
        ("event after message_stop", lambda ev: ev.append({"type": "message_delta", "delta": {}, "usage": {}}),
         "event 14 (message_delta) after message_stop"),
        ("no message_start", lambda ev: ev.pop(0), "event 0 (content_block_start) before message_start"),
        ("two message_starts", lambda ev: ev.insert(1, copy.deepcopy(ev[0])), "second message_start"),
        ("block never stopped", lambda ev: ev.pop(11), "content blocks never stopped: [1]"),
        ("block started twice", lambda ev: ev.insert(2, {"type": "content_block_start", "index": 0,
                                                          "content_block": {"type": "text", "text": ""}}),
         "content block 0 started twice"),
        ("stop of a block never opened", lambda ev: ev.insert(12, {"type": "content_block_stop", "index": 7}),
         "stop for content block 7 that is not open"),
        ("truncated tool JSON", lambda ev: ev.pop(10), "content block 1: tool input is not JSON"),
        ("unknown delta", lambda ev: ev.insert(4, {"type": "content_block_delta", "index": 0, "delta": {"type": "telepathy_delta"}}),
         "unknown delta type 'telepathy_delta'"),
        ("error event", lambda ev: ev.insert(5, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
         'error event: {"type": "overloaded_error", "message": "Overloaded"}'),
    ],
)
def test_malformed_streams_are_reported(name, mutate, expected):
    problems = _problems(mutate)
    assert expected in problems, (name, problems)


def test_well_formed_stream_has_no_problems_and_an_empty_stream_none():
    assert _problems(lambda ev: None) == []
    assert from_sse(b"").stream_problems == [] and from_sse(b"").content == []


def test_stream_cut_mid_event_is_reported():
    data = encode_events(tool_use_events())
    message = from_sse(data[:-10])  # the message_stop event cut short: not parsed
    assert "stream ended without message_stop" in message.stream_problems


# ---------------------------------------------------------------- Bedrock


def test_bedrock_invoke_stream_equals_the_invoke_json():
    """Same body, so the emulator plans the same reply: both wire forms must give one AssistantMessage."""
    stream = from_bedrock_invoke_stream(bedrock("invoke-with-response-stream", INVOKE_BODY))
    plain = from_anthropic_json(json.loads(bedrock("invoke", INVOKE_BODY)))
    assert stream.stream_problems == []
    assert [b["type"] for b in stream.content] == ["thinking", "text"]
    assert stream.content == plain.content
    assert (stream.stop_reason, stream.usage) == (plain.stop_reason, plain.usage)
    assert stream.content[0]["signature"] and stream.text


def test_bedrock_invoke_stream_reports_a_missing_stop():
    data = bedrock("invoke-with-response-stream", INVOKE_BODY)
    messages = wire.decode_eventstream(data)
    assert messages[-1]["payload"]["bytes_json"]["type"] == "message_stop"
    truncated = wire.encode_eventstream(messages[:-1])
    assert from_bedrock_invoke_stream(truncated).stream_problems == ["stream ended without message_stop"]


def test_bedrock_invoke_stream_reports_exceptions():
    messages = wire.decode_eventstream(bedrock("invoke-with-response-stream", INVOKE_BODY))
    exception = {"headers": {":exception-type": "throttlingException", ":content-type": "application/json",
                             ":message-type": "exception"}, "payload": {"message": "Too many requests"}}
    problems = from_bedrock_invoke_stream(wire.encode_eventstream(messages[:3] + [exception])).stream_problems
    assert any("Too many requests" in p for p in problems), problems


def test_converse_stream_equals_the_converse_json():
    stream = from_converse_stream(bedrock("converse-stream", CONVERSE_BODY))
    plain = from_converse_json(json.loads(bedrock("converse", CONVERSE_BODY)))
    assert stream.stream_problems == []
    assert [b["type"] for b in plain.content] == ["thinking", "text"]
    assert stream.content == plain.content
    assert stream.stop_reason == plain.stop_reason == "end_turn"
    assert stream.usage == plain.usage and plain.usage["output_tokens"] > 0


def test_converse_and_invoke_carry_the_same_reply():
    converse = from_converse_json(json.loads(bedrock("converse", CONVERSE_BODY)))
    invoke = from_anthropic_json(json.loads(bedrock("invoke", INVOKE_BODY)))
    assert converse.text == invoke.text
    assert converse.content[0]["thinking"] == invoke.content[0]["thinking"]


def _converse_event(kind: str, payload: dict) -> dict:
    return {"headers": {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}, "payload": payload}


def test_converse_stream_tool_use_and_exceptions():
    events = [
        _converse_event("messageStart", {"role": "assistant"}),
        _converse_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Running it."}}),
        _converse_event("contentBlockStop", {"contentBlockIndex": 0}),
        _converse_event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "Bash"}}}),
        _converse_event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"command":'}}}),
        _converse_event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ' "pwd"}'}}}),
        _converse_event("contentBlockStop", {"contentBlockIndex": 1}),
        _converse_event("messageStop", {"stopReason": "tool_use"}),
        _converse_event("metadata", {"usage": {"inputTokens": 10, "outputTokens": 20, "totalTokens": 30}, "metrics": {"latencyMs": 5}}),
    ]
    message = from_converse_stream(wire.encode_eventstream(events))
    assert message.content == [{"type": "text", "text": "Running it."},
                               {"type": "tool_use", "id": "tooluse_1", "name": "Bash", "input": {"command": "pwd"}}]
    assert message.stop_reason == "tool_use" and message.usage == {"input_tokens": 10, "output_tokens": 20}
    assert message.stream_problems == []

    exception = {"headers": {":exception-type": "modelStreamErrorException", ":content-type": "application/json",
                             ":message-type": "exception"}, "payload": {"message": "boom"}}
    broken = from_converse_stream(wire.encode_eventstream(events[:3] + [exception]))
    assert len(broken.stream_problems) == 1 and broken.stream_problems[0].startswith("exception: ")
    assert "boom" in broken.stream_problems[0]


def test_converse_json_tool_use():
    body = {"output": {"message": {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "tooluse_2", "name": "Read", "input": {"path": "/etc/hosts"}}}]}},
        "stopReason": "tool_use", "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}}
    message = from_converse_json(body)
    assert message.content == [{"type": "tool_use", "id": "tooluse_2", "name": "Read", "input": {"path": "/etc/hosts"}}]
    assert message.stop_reason == "tool_use" and message.usage == {"input_tokens": 3, "output_tokens": 4}


@pytest.mark.parametrize(
    ("provider", "path", "make", "reader"),
    [
        ("anthropic", "/v1/messages", lambda: first_party(stream=True), from_sse),
        ("anthropic", "/v1/messages", lambda: first_party(stream=False), lambda d: from_anthropic_json(json.loads(d))),
        ("bedrock_invoke", f"/model/{HAIKU_BEDROCK}/invoke-with-response-stream",
         lambda: bedrock("invoke-with-response-stream", INVOKE_BODY), from_bedrock_invoke_stream),
        ("bedrock_invoke", f"/model/{HAIKU_BEDROCK}/invoke", lambda: bedrock("invoke", INVOKE_BODY),
         lambda d: from_anthropic_json(json.loads(d))),
        ("bedrock_converse", f"/model/{HAIKU_BEDROCK}/converse-stream", lambda: bedrock("converse-stream", CONVERSE_BODY),
         from_converse_stream),
        ("bedrock_converse", f"/model/{HAIKU_BEDROCK}/converse", lambda: bedrock("converse", CONVERSE_BODY),
         lambda d: from_converse_json(json.loads(d))),
    ],
)
def test_provider_decoders_dispatch(provider, path, make, reader):
    data = make()
    ctype = "text/event-stream; charset=utf-8" if data.startswith(b"event:") else (
        "application/vnd.amazon.eventstream" if "stream" in path else "application/json")
    got = catalog.provider(provider).decode_response(path, ctype, data)
    assert got.content == reader(data).content and got.content
    assert got.text


# ---------------------------------------------------------------- wire checks (findings)


def answer(data: bytes, turn: int = 0, ctype: str = "text/event-stream; charset=utf-8") -> ClientAnswer:
    message = from_sse(data) if ctype.startswith("text/event-stream") else from_anthropic_json(json.loads(data))
    return ClientAnswer(turn, ctype, message)


def altered(data: bytes, change) -> bytes:
    events = sse_events(data)
    change(events)
    return encode_events(events)


@pytest.fixture(scope="module")
def stream() -> bytes:
    return first_party(stream=True)


def messages(problems) -> list[str]:
    return [p.message for p in problems]


def test_checks_find_nothing_on_identical_content(stream):
    upstream = [from_sse(stream)]
    client = [answer(stream)]
    assert upstream_content_intact(client, upstream) == []
    assert client_stream_intact(client, upstream) == []
    assert run_checks(("client_stream_intact", "upstream_content_intact"), client, upstream) == []


def _set_delta(kind: str, key: str, value):
    def change(events):
        delta = next(e["delta"] for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == kind)
        delta[key] = value
    return change


@pytest.mark.parametrize(
    ("change", "expected", "severity"),
    [
        (_set_delta("text_delta", "text", "Coffee is better. "), "turn 0: text: provider sent ", "high"),
        (_set_delta("signature_delta", "signature", "Zm9yZ2Vk"), "turn 0: thinking block 0 signature: ", "high"),
        (_set_delta("thinking_delta", "thinking", "other thoughts"), "turn 0: thinking block 0 thinking: ", "high"),
        (lambda ev: ev[-2]["delta"].update(stop_reason="max_tokens"),
         "turn 0: stop_reason: provider sent 'end_turn', client got 'max_tokens'", "high"),
        (lambda ev: ev[-2]["usage"].update(output_tokens=ev[-2]["usage"]["output_tokens"] + 1),
         "turn 0: usage.output_tokens: provider sent ", "info"),
        # message_delta carries the final, cumulative counts (as the real API sends them)
        (lambda ev: ev[-2]["usage"].update(input_tokens=1), "turn 0: usage.input_tokens: provider sent ", "info"),
    ],
)
def test_upstream_content_intact_finds_each_alteration(stream, change, expected, severity):
    problems = upstream_content_intact([answer(altered(stream, change))], [from_sse(stream)])
    assert len(problems) == 1 and problems[0].message.startswith(expected), problems
    assert problems[0].severity == severity


def test_dropped_thinking_block_is_found(stream):
    def drop_thinking(events):
        events[:] = [e for e in events if e.get("index") != 0]
        for e in events:
            if "index" in e:
                e["index"] -= 1

    client = [answer(altered(stream, drop_thinking))]
    assert client[0].message.stream_problems == []
    assert messages(upstream_content_intact(client, [from_sse(stream)])) == [
        "turn 0: thinking blocks: provider sent 1, client got 0"]


def test_tool_use_input_alteration_is_found():
    sent = encode_events(tool_use_events())

    def change_command(events):
        events[8]["delta"]["partial_json"] = '{"command": "r'  # "rs -la"

    problems = messages(upstream_content_intact([answer(altered(sent, change_command))], [from_sse(sent)]))
    assert len(problems) == 1 and problems[0].startswith("turn 0: tool_use block 0 input: ")


def test_non_streaming_client_answer_compared_to_a_bedrock_stream():
    """What a real cell compares: Bedrock's event stream upstream, LiteLLM's JSON to the client."""
    upstream = from_bedrock_invoke_stream(bedrock("invoke-with-response-stream", INVOKE_BODY))
    client_json = json.dumps({"type": "message", "role": "assistant", "content": upstream.content,
                              "stop_reason": upstream.stop_reason, "usage": upstream.usage}).encode()
    assert upstream_content_intact([answer(client_json, ctype="application/json")], [upstream]) == []


def test_client_stream_intact_relays_stream_problems_per_turn(stream):
    broken = encode_events(tool_use_events()[:-1])
    problems = messages(client_stream_intact([answer(stream, 0), answer(broken, 1)], []))
    assert problems == ["turn 1: stream ended without message_stop"]


def test_a_block_start_that_carries_the_first_fragment_is_a_finding_not_a_failure(stream):
    """What LiteLLM 1.108.7's adapter sends on Converse: the thinking block opens with the
    first reasoning fragment, which the first delta repeats. Claude Code assembles the
    block from the deltas only (measured with the pinned CLI, tests/e2e/test_cli_client.py),
    so the text it keeps is intact; the finding says what an SDK-style client would get."""
    def seed_start(events):
        first = next(e["delta"]["thinking"] for e in events
                     if e["type"] == "content_block_delta" and e["delta"]["type"] == "thinking_delta")
        start = next(e for e in events if e["type"] == "content_block_start" and e["content_block"]["type"] == "thinking")
        start["content_block"]["thinking"] = first

    client = [answer(altered(stream, seed_start))]
    assert upstream_content_intact(client, [from_sse(stream)]) == []  # the text Claude Code keeps is intact
    found = client_stream_intact(client, [])
    assert len(found) == 1 and found[0].severity == "warning"
    assert "which the deltas repeat" in found[0].message and found[0].evidence


def test_every_catalog_check_is_registered():
    for feature in catalog.FEATURES:
        for name in feature.checks:
            assert name in CHECKS, (feature.id, name)


def test_canonical_text_joins_text_blocks_only():
    message = AssistantMessage(content=[{"type": "text", "text": "a"}, {"type": "thinking", "thinking": "x"}, {"type": "text", "text": "b"}])
    assert message.text == "ab"
