"""The emulator's OpenAI Responses API answers: the response object as a real gpt-5.6-sol
answer has it (tests/reference/openai-captures/), the stream's typed events in the
order OpenAI's reference gives, and the Claude Code conversation LiteLLM sends read
right (tests/e2e/test_openai_translation.py runs LiteLLM's own translator over them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccmatrix.emulator import EmulatedRequest, openai_responses
from ccmatrix.providers.contract import ProviderRequest, judge, on_path
from ccmatrix.providers.openai_api import error_body, responses_rules
from tests.unit.reference_captures import OPENAI_CAPTURES, keys, load

GPT_5_6_SOL = "pydantic__pydantic-ai/test_azure_responses_reasoning_context_default_wire_contract[gpt-5.6-sol].yaml"
MODEL = "gpt-5.6-sol"
BASH = {"type": "function", "name": "Bash", "description": "Run a command", "strict": False,
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}
USER = {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Use the Bash tool to run the command `echo pong` and report what it printed."}]}
# what LiteLLM 1.110.2 sends for Claude Code's first turn (docs/gpt-columns.md)
TURN_1 = {"model": MODEL, "input": [{"type": "message", "role": "developer", "content": [
    {"type": "input_text", "text": "You are Claude Code."}]}, USER], "include": ["reasoning.encrypted_content"],
    "max_output_tokens": 32000, "reasoning": {"effort": "high"}, "tools": [BASH], "user": "u"}
CALL = {"type": "function_call", "call_id": "call_0", "name": "Bash", "arguments": '{"command":"echo pong"}'}
TURN_2 = {**TURN_1, "input": [*TURN_1["input"], CALL, {"type": "function_call_output", "call_id": "call_0", "output": "pong"}]}


def emulate(body: dict):  # type: ignore[no-untyped-def]
    return openai_responses.answer(EmulatedRequest("POST", "api.openai.com", "/v1/responses", {},
                                                   json.dumps(body).encode()), body, {})


def events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_the_response_object_has_the_fields_a_real_gpt_5_6_answer_has():
    [real] = load(GPT_5_6_SOL, OPENAI_CAPTURES)
    ours = json.loads(emulate({"model": MODEL, "input": "What is the capital of France? Answer in one word."}).body)
    azure_only = {"content_filters", "frequency_penalty", "presence_penalty", "moderation"}  # Azure's additions
    assert set(real.parsed) - set(ours) == azure_only
    assert set(ours) <= set(real.parsed)
    [message] = [i for i in ours["output"] if i["type"] == "message"]
    assert keys(message) == keys(real.parsed["output"][0])
    assert keys(ours["usage"]) == keys(real.parsed["usage"])
    assert ours["status"] == real.parsed["status"] == "completed" and ours["object"] == "response"
    assert len(ours["id"]) == len(real.parsed["id"]) and len(message["id"]) == len(real.parsed["output"][0]["id"])


def test_a_gpt_5_class_model_reasons_first_and_says_how_much():
    body = json.loads(emulate(TURN_1).body)
    kinds = [i["type"] for i in body["output"]]
    assert kinds == ["reasoning", "function_call"]
    reasoning = body["output"][0]
    assert reasoning["summary"] == [] and reasoning["encrypted_content"].startswith("gAAAAAB")
    assert body["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    without = json.loads(emulate({**TURN_1, "include": []}).body)
    assert "encrypted_content" not in without["output"][0]  # only when the request asks for it


def test_a_function_call_answers_the_tool_request_and_the_result_gets_text():
    call = json.loads(emulate(TURN_1).body)["output"][-1]
    assert call["type"] == "function_call" and call["name"] == "Bash" and call["call_id"].startswith("call_")
    assert json.loads(call["arguments"])["command"] == "echo pong"
    answer = json.loads(emulate(TURN_2).body)
    assert [i["type"] for i in answer["output"]] == ["reasoning", "message"]
    assert "after 1 tool result" in answer["output"][-1]["content"][0]["text"]
    assert answer["max_output_tokens"] == 32000 and answer["reasoning"]["effort"] == "high" and answer["user"] == "u"


def test_the_stream_s_events_come_in_openai_s_order_and_add_up_to_the_response():
    response = emulate({**TURN_1, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = events(response.body)
    assert all(kind == data["type"] for kind, data in stream)
    assert [d["sequence_number"] for _, d in stream] == list(range(len(stream)))
    kinds = [k for k, _ in stream]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert stream[0][1]["response"]["status"] == "in_progress" and stream[0][1]["response"]["output"] == []
    assert stream[0][1]["response"]["usage"] is None
    # each output item is added, then done, in order
    added = [(d["output_index"], d["item"]["id"]) for k, d in stream if k == "response.output_item.added"]
    done = [(d["output_index"], d["item"]["id"]) for k, d in stream if k == "response.output_item.done"]
    final = stream[-1][1]["response"]
    assert added == done == [(n, item["id"]) for n, item in enumerate(final["output"])]
    # the call opens with empty arguments, streams them cut mid-JSON, and they add up
    call = next(d["item"] for k, d in stream if k == "response.output_item.added" and d["item"]["type"] == "function_call")
    assert call["arguments"] == "" and call["status"] == "in_progress"
    pieces = [d["delta"] for k, d in stream if k == "response.function_call_arguments.delta"]
    [finished] = [d["arguments"] for k, d in stream if k == "response.function_call_arguments.done"]
    assert len(pieces) > 2 and "".join(pieces) == finished == final["output"][-1]["arguments"]
    assert all(d.get("obfuscation") for k, d in stream if k.endswith(".delta"))
    # the stream ends with the response the same request unstreamed gets (ids and times
    # are the request body's, which differs by `stream`)
    unstreamed = json.loads(emulate(TURN_1).body)
    assert keys(final) == keys(unstreamed)
    assert [(i["type"], i.get("name"), i.get("arguments")) for i in final["output"]] == \
        [(i["type"], i.get("name"), i.get("arguments")) for i in unstreamed["output"]]


def test_streamed_text_comes_as_a_content_part_with_text_deltas():
    stream = events(emulate({**TURN_2, "stream": True}).body)
    kinds = [k for k, _ in stream]
    start, end = kinds.index("response.content_part.added"), kinds.index("response.content_part.done")
    assert set(kinds[start + 1:end - 1]) == {"response.output_text.delta"} and kinds[end - 1] == "response.output_text.done"
    text = "".join(d["delta"] for k, d in stream if k == "response.output_text.delta")
    assert text == stream[end - 1][1]["text"] == stream[end][1]["part"]["text"]
    added = next(d for k, d in stream if k == "response.output_item.added" and d["item"]["type"] == "message")
    assert added["item"]["content"] == [] and added["item"]["status"] == "in_progress"


def test_the_same_request_gets_the_same_bytes():
    assert emulate({**TURN_1, "stream": True}).body == emulate({**TURN_1, "stream": True}).body


# ------------------------------------------------------------------ the contract

RULES = responses_rules("openai", on_path(r"/responses$"))


def _request(body: dict) -> ProviderRequest:
    return ProviderRequest.of("POST", "api.openai.com", "/v1/responses", {}, body)


def test_what_openai_and_litellm_send_is_accepted():
    [real] = load(GPT_5_6_SOL, OPENAI_CAPTURES)
    for body in (real.request_body, TURN_1, TURN_2, {**TURN_1, "stream": True}):
        verdict = judge(RULES, _request(body))
        assert verdict.rejected is None and verdict.warnings == [], verdict


REFUSED = {
    "responses-known-fields": ({"max_tokens": 32000}, "Unknown parameter: 'max_tokens'."),
    "responses-reasoning-sampling": ({"temperature": 0.5}, "Unsupported value: 'temperature' does not support 0.5"),
    "responses-reasoning-effort-values": ({"reasoning": {"effort": "max"}}, "Invalid value: 'max'."),
    "responses-tools-are-named": ({"tools": [{**BASH, "name": "mcp__a.b"}]}, "Invalid 'tools[0].name'"),
    "function-call-outputs-answer-calls": (
        {"input": [USER, {"type": "function_call_output", "call_id": "call_9", "output": "pong"}]},
        "No tool call found for function call output with call_id call_9."),
}


@pytest.mark.parametrize("rule_id", sorted(REFUSED))
def test_each_rule_refuses_what_openai_refuses(rule_id):
    change, said = REFUSED[rule_id]
    verdict = judge(RULES, _request({**TURN_1, **change}))
    assert verdict.rejected is not None and verdict.rejected.rule.id == f"openai.{rule_id}", verdict
    assert said in verdict.rejected.message
    assert set(error_body(verdict.rejected)["error"]) == {"message", "type", "param", "code"}


def test_every_rule_has_a_refusal_case_and_a_row_in_the_docs():
    assert {r.id.split(".", 1)[1] for r in RULES} == set(REFUSED)
    doc = (Path(__file__).parents[2] / "docs" / "contracts.md").read_text()
    for rule in RULES:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{rule.id}` |")), None)
        assert row is not None and all(link in row for link in rule.evidence), rule.id


def test_a_continued_response_may_answer_a_call_it_does_not_repeat():
    body = {**TURN_1, "previous_response_id": "resp_0", "input": [
        {"type": "function_call_output", "call_id": "call_9", "output": "pong"}]}
    assert judge(RULES, _request(body)).rejected is None
