"""The emulator's OpenAI Chat Completions answers and ccmatrix's OpenAI contract, held to
real OpenAI traffic (tests/reference/openai-captures/, recorded by pydantic-ai against
the live API): the same chunk order and fields, the same id shapes, and every request
OpenAI accepted accepted here too."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from ccmatrix.emulator import EmulatedRequest, openai_chat
from ccmatrix.providers.contract import ProviderRequest, Rule, judge, on_path
from ccmatrix.providers.openai_api import chat_completions_rules, error_body
from tests.unit.reference_captures import OPENAI_CAPTURES, Captured, keys, load

STREAMED = "pydantic__pydantic-ai/test_run_stream_sync_streams_real_model.yaml"
TOOL_CALLS = "pydantic__pydantic-ai/test_openai_tool_output.yaml"
GPT_5 = "pydantic__pydantic-ai/test_openai_model_settings_temperature_ignored_on_gpt_5.yaml"
RULES = chat_completions_rules("openai", on_path(r"^/v1/chat/completions$"))
MODEL = "gpt-5.6-sol"
BASH = {"type": "function", "function": {"name": "Bash", "description": "Run a shell command", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
    "required": ["command"], "additionalProperties": False}}}
PROMPT = "Use the Bash tool to run the command `echo pong` and report what it printed."


def captured(name: str) -> list[Captured]:
    return load(name, OPENAI_CAPTURES)


def chat(messages: list[dict], **fields: object) -> dict:
    """A Chat Completions body as LiteLLM writes one for Claude Code: the system prompt
    first, Claude Code's tools as functions."""
    return {"model": MODEL, "messages": [{"role": "system", "content": "You are Claude Code."}, *messages],
            "tools": [BASH], **fields}


def emulate(body: dict) -> tuple[int, str, bytes]:
    response = openai_chat.answer(EmulatedRequest("POST", "api.openai.com", "/v1/chat/completions",
                                                  {"content-type": "application/json"}, json.dumps(body).encode()),
                                  body, str(body["model"]), {})
    return response.status, response.headers["content-type"], response.body


def sse_data(raw: bytes) -> list[object]:
    return [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]


TURN_1 = [{"role": "user", "content": PROMPT}]
CALL = {"id": "call_0", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"echo pong"}'}}
TURN_2 = TURN_1 + [{"role": "assistant", "content": None, "tool_calls": [CALL]},
                   {"role": "tool", "tool_call_id": "call_0", "content": "pong"}]


# ------------------------------------------------------------------ the captures themselves


def test_the_captures_are_the_files_their_readme_lists():
    for line in (OPENAI_CAPTURES / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((OPENAI_CAPTURES / name).read_bytes()).hexdigest() == digest, name
        assert Path(name).name in (OPENAI_CAPTURES / "README.md").read_text()
    streamed = captured(STREAMED)
    assert [e["data"] for e in streamed[0].sse][-1] == "[DONE]"
    assert all(isinstance(e["data"], dict) for c in streamed for e in c.sse[:-1])


# ------------------------------------------------------------------ streamed answers


def test_a_streamed_tool_call_has_openai_s_chunks_in_openai_s_order():
    real = [e["data"] for e in captured(STREAMED)[0].sse]
    status, content_type, raw = emulate(chat(TURN_1, stream=True, stream_options={"include_usage": True}))
    ours = [d if d == "[DONE]" else json.loads(d) for d in sse_data(raw)]
    assert status == 200 and content_type == captured(STREAMED)[0].content_type
    assert ours[-1] == real[-1] == "[DONE]"
    ours, real = ours[:-1], real[:-1]
    # every chunk has the same fields; the first opens the call, the rest stream its
    # arguments, then the finish reason, then the usage with no choices
    assert {tuple(c) for c in ours} == {tuple(c) for c in real}
    assert keys(ours[0]["choices"][0]["delta"]) == keys(real[0]["choices"][0]["delta"])
    assert ours[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == ""
    middle = slice(1, -2)
    assert {json.dumps(keys(c["choices"][0]["delta"])) for c in ours[middle]} == \
        {json.dumps(keys(c["choices"][0]["delta"])) for c in real[middle]}
    assert [c["choices"][0]["finish_reason"] for c in ours[:-1]] == [None] * (len(ours) - 2) + ["tool_calls"]
    assert ours[-2]["choices"][0]["delta"] == real[-2]["choices"][0]["delta"] == {}
    assert ours[-1]["choices"] == real[-1]["choices"] == [] and keys(ours[-1]["usage"]) == keys(real[-1]["usage"])
    assert all(c["usage"] is None for c in ours[:-1])
    # ids as OpenAI shapes them, the same in every chunk
    assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", ours[0]["id"]) and len({c["id"] for c in ours}) == 1
    assert len(ours[0]["id"]) == len(real[0]["id"])
    call_id = ours[0]["choices"][0]["delta"]["tool_calls"][0]["id"]
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call_id) and len(call_id) == len(CALL_ID_SEEN(real))
    assert all(re.fullmatch(r"[A-Za-z0-9]{3,15}", c["obfuscation"]) for c in ours)


def CALL_ID_SEEN(chunks: list[dict]) -> str:  # noqa: N802 - reads as the value it is
    return chunks[0]["choices"][0]["delta"]["tool_calls"][0]["id"]


def test_the_streamed_arguments_are_cut_mid_json_and_add_up_to_the_call():
    _, _, raw = emulate(chat(TURN_1, stream=True))
    chunks = [json.loads(d) for d in sse_data(raw)[:-1]]
    pieces = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
              for c in chunks if "tool_calls" in c["choices"][0]["delta"]]
    assert len(pieces) > 2
    for piece in pieces[1:-1]:
        with pytest.raises(ValueError):
            json.loads(piece)  # a fragment, as OpenAI sends them
    assert json.loads("".join(pieces)) == {"command": "echo pong", "description": "Run echo pong"}
    assert "usage" not in chunks[-1]  # no usage chunk unless the request asks for one


def test_a_streamed_text_answer_after_the_tool_result_matches_openai_s():
    real = [e["data"] for e in captured(STREAMED)[1].sse][:-1]
    _, _, raw = emulate(chat(TURN_2, stream=True, stream_options={"include_usage": True}))
    ours = [json.loads(d) for d in sse_data(raw)[:-1]]
    assert ours[0]["choices"][0]["delta"] == real[0]["choices"][0]["delta"] == \
        {"role": "assistant", "content": "", "refusal": None}
    assert all(set(c["choices"][0]["delta"]) == {"content"} for c in ours[1:-2])
    assert ours[-2]["choices"][0]["finish_reason"] == real[-2]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"]["content"] for c in ours[:-2])
    assert "after 1 tool result" in text  # the plan's summary of the tool results it saw


def test_without_obfuscation_the_chunks_carry_none():
    _, _, raw = emulate(chat(TURN_2, stream=True, stream_options={"include_obfuscation": False}))
    assert not any("obfuscation" in json.loads(d) for d in sse_data(raw)[:-1])


# ------------------------------------------------------------------ JSON answers


def test_a_tool_call_completion_has_openai_s_fields():
    real = captured(TOOL_CALLS)[0].parsed
    status, content_type, raw = emulate(chat(TURN_1))
    ours = json.loads(raw)
    assert status == 200 and content_type == "application/json"
    assert keys(ours) == keys(real)  # every field, nested, as OpenAI sends it
    assert keys(ours["choices"][0]) == keys(real["choices"][0])
    assert ours["choices"][0]["message"]["content"] is None and ours["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(ours["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["command"] == "echo pong"
    assert ours["object"] == real["object"] == "chat.completion"


def test_a_gpt_5_class_completion_breaks_out_its_reasoning_tokens():
    real = captured(GPT_5)[0].parsed
    ours = json.loads(emulate(chat(TURN_2))[2])
    assert keys(ours["usage"]) == keys(real["usage"])
    details = ours["usage"]["completion_tokens_details"]
    assert ours["usage"]["completion_tokens"] >= details["reasoning_tokens"]
    assert ours["usage"]["total_tokens"] == ours["usage"]["prompt_tokens"] + ours["usage"]["completion_tokens"]
    assert ours["choices"][0]["finish_reason"] == "stop" and "tool result" in ours["choices"][0]["message"]["content"]


def test_the_same_request_gets_the_same_bytes():
    body = chat(TURN_1, stream=True, stream_options={"include_usage": True})
    assert emulate(body) == emulate(body)


# ------------------------------------------------------------------ the contract


def _request(body: dict) -> ProviderRequest:
    return ProviderRequest.of("POST", "api.openai.com", "/v1/chat/completions", {}, body)


@pytest.mark.parametrize("name", [STREAMED, TOOL_CALLS, GPT_5])
def test_every_request_openai_accepted_is_accepted(name):
    for capture in captured(name):
        assert capture.status == 200
        verdict = judge(RULES, _request(capture.request_body))
        assert verdict.rejected is None and verdict.warnings == [], (name, verdict)


REFUSED = {
    "known-fields": ({"thinking": {"type": "enabled"}}, "Unrecognized request argument supplied: thinking"),
    "max-completion-tokens": ({"max_tokens": 32000},
                              "Unsupported parameter: 'max_tokens' is not supported with this model. "
                              "Use 'max_completion_tokens' instead."),
    "reasoning-sampling": ({"temperature": 0.2}, "Unsupported value: 'temperature' does not support 0.2 with this model."),
    "reasoning-effort-values": ({"reasoning_effort": "max"}, "Invalid value: 'max'."),
    "tools-are-functions": ({"tools": [{"type": "function", "function": {"name": "mcp__server.tool"}}]},
                            "Invalid 'tools[0].function.name': string does not match pattern."),
    "tool-choice-needs-tools": ({"tools": [], "tool_choice": "auto"}, "'tool_choice' is only allowed when 'tools'"),
    "tool-results-answer-calls": ({"messages": [{"role": "user", "content": "hi"},
                                                {"role": "tool", "tool_call_id": "call_0", "content": "x"}]},
                                  "messages with role 'tool' must be a response to a preceeding message"),
}


@pytest.mark.parametrize("rule_id", sorted(REFUSED))
def test_each_rule_refuses_what_openai_refuses(rule_id):
    change, said = REFUSED[rule_id]
    body = {**chat(TURN_1, max_completion_tokens=32000), **change}
    verdict = judge(RULES, _request(body))
    assert verdict.rejected is not None and verdict.rejected.rule.id == f"openai.{rule_id}", verdict
    assert said in verdict.rejected.message
    error = error_body(verdict.rejected)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"


def test_every_rule_has_a_refusal_case_and_evidence():
    assert {r.id.split(".", 1)[1] for r in RULES} == set(REFUSED)
    assert all(isinstance(r, Rule) and r.evidence for r in RULES)


def test_max_tokens_is_taken_from_a_model_that_does_not_reason():
    body = {**chat(TURN_1), "model": "gpt-4o", "max_tokens": 100, "temperature": 0.2}
    assert judge(RULES, _request(body)).rejected is None


def test_an_unanswered_tool_call_is_refused_before_the_next_turn():
    messages = [*TURN_1, {"role": "assistant", "content": None, "tool_calls": [CALL]},
                {"role": "user", "content": "go on"}]
    verdict = judge(RULES, _request(chat(messages)))
    assert verdict.rejected is not None and "call_0" in verdict.rejected.message


def test_the_refusal_is_openai_s_error_body():
    verdict = judge(RULES, _request({**chat(TURN_1), "max_tokens": 1}))
    assert verdict.rejected is not None
    response = openai_chat.refusal(verdict.rejected, {})
    assert response.status == 400
    assert json.loads(response.body) == {"error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                   "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}}


def test_docs_list_every_rule_with_its_evidence():
    doc = (Path(__file__).parents[2] / "docs" / "contracts.md").read_text()
    for rule in RULES:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{rule.id}` |")), None)
        assert row is not None, f"docs/contracts.md has no row for {rule.id}"
        assert f"| {rule.action} | {rule.confidence} |" in row and all(link in row for link in rule.evidence), rule.id
