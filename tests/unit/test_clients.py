"""The clients' outcomes and the live criteria that judge them.

The CLI outcome is read from stream-json as the live harness reads it; the
captured-request outcome from LiteLLM's answers as Claude Code would read them; the
criteria say what the harness says. Stream-json lines here are in the shapes the
pinned CLI prints (tests/e2e/test_cli_client.py runs the real one).
"""

from __future__ import annotations

import json

import pytest

from ccmatrix import catalog
from ccmatrix.client import inputs
from ccmatrix.client.cli_driver import SESSION_ID, cli_argv, outcome_of
from ccmatrix.client.driver import ClientExchange, captured_outcome, main_turn
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.client.probes import ProbeResult, probe_request
from ccmatrix.emulator.plan import intent_steps, pdf_text
from ccmatrix.verdict.criteria import CRITERIA, unmet
from ccmatrix.wire.messages import from_anthropic_json


def lines(*events: dict) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


def assistant(*blocks: dict, usage: dict | None = None) -> dict:
    return {"type": "assistant", "message": {"role": "assistant", "content": list(blocks), "usage": usage or {}}}


def test_cli_outcome_reads_stream_json_as_the_harness_does():
    out = outcome_of(lines(
        {"type": "system", "subtype": "init"},
        assistant({"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "pong"},
                  usage={"input_tokens": 3, "cache_creation_input_tokens": 0}),
        {"type": "stream_event", "event": {"type": "content_block_delta", "delta": {"type": "input_json_delta"}}},
        {"type": "stream_event", "event": {"type": "message_stop"}},
        {"type": "stream_event"},  # no event mapping: not counted
        assistant({"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}, {"type": "text", "text": "!"}),
        {"type": "result", "structured_output": {"answer": 4},
         "usage": {"cache_creation_input_tokens": 10, "cache_read_input_tokens": 0}},
    ) + "not json\n", 0, "")
    assert out.failure is None and out.text == "pong!"
    assert [b["type"] for b in out.blocks] == ["thinking", "text", "tool_use", "text"]
    assert (out.stream_events, out.input_json_deltas) == (2, 1)
    assert out.usage == {"cache_creation_input_tokens": 10, "cache_read_input_tokens": 0}  # the last one
    assert out.structured_output == {"answer": 4}
    assert unmet(("assistant_text", "stream_events", "tool_use_block", "input_json_delta", "thinking_block",
                  "cache_tokens", "structured_output"), out) == []


def test_cli_failure_reads_like_the_harness():
    out = outcome_of(lines(assistant({"type": "text", "text": "API Error: Content block is not a text block"}),
                           {"type": "result", "api_error_status": 400}), 1, "")
    assert out.failure == ("claude CLI failed: exit=1; api_status=400; "
                           "text=API Error: Content block is not a text block")
    assert outcome_of("", 1, "").failure == "claude CLI failed: exit=1; (no diagnostic output)"
    long = outcome_of("", 2, "x" * 900).failure
    assert long.endswith("...(truncated)") and "stderr=" in long


@pytest.mark.parametrize("name, outcome, expected", [
    ("assistant_text", ClientOutcome("cli", text="  "), "claude returned empty assistant text"),
    ("stream_events", ClientOutcome("cli", stream_events=1), "only 1 stream_event records observed (< 2)"),
    ("tool_use_block", ClientOutcome("cli"), "no tool_use content block observed"),
    ("input_json_delta", ClientOutcome("cli"), "no input_json_delta stream events observed"),
    ("thinking_block", ClientOutcome("cli"), "no `thinking` content block observed"),
    ("cache_tokens", ClientOutcome("cli", usage={"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}),
     "usage block reported zero cache tokens"),
    ("pdf_marker", ClientOutcome("cli", text="it says pang"), "reply did not reference the PDF marker 'PONG'"),
    ("websearch_tool_use", ClientOutcome("cli", blocks=[{"type": "tool_use", "name": "Bash"}]),
     "no `tool_use` block with name=WebSearch observed"),
    ("structured_output", ClientOutcome("cli", structured_output={"answer": "4"}),
     "structured_output shape error: 'answer' is not integer"),
    ("structured_output", ClientOutcome("cli", structured_output={"answer": True}),
     "structured_output shape error: 'answer' is not integer"),
    ("structured_output", ClientOutcome("cli"), "no `structured_output` in trailing result event"),
    ("probe", ClientOutcome("probe", probe=ProbeResult("count_tokens", 200, {"input_tokens": 0})),
     "count_tokens probe failed: input_tokens must be positive; got 0"),
    ("probe", ClientOutcome("probe", probe=ProbeResult("tool_search", 400, {"message": "no"})),
     'tool_search probe failed: status 400: {"message":"no"}'),
    ("probe", ClientOutcome("probe", probe=ProbeResult("tool_search", 200, {"id": "x"})),
     "tool_search probe failed: response has neither `content` nor `choices`: keys=['id']"),
])
def test_each_criterion_says_what_the_harness_says(name, outcome, expected):
    problem = CRITERIA[name](outcome)
    assert problem is not None and problem.startswith(expected), problem


def test_criteria_pass_on_what_they_need():
    assert CRITERIA["pdf_marker"](ClientOutcome("cli", text="The document says: pong.")) is None
    assert CRITERIA["cache_tokens"](ClientOutcome("cli", usage={"cache_read_input_tokens": 7})) is None
    assert CRITERIA["probe"](ClientOutcome("probe", probe=ProbeResult("count_tokens", 200, {"input_tokens": 9}))) is None


def test_every_row_names_known_criteria_and_has_one_client():
    for feature in catalog.FEATURES:
        assert feature.criteria, feature.id
        assert all(name in CRITERIA for name in feature.criteria), feature.id
        assert (feature.cli is None) != (feature.probe is None), feature.id


def test_the_cli_command_line_is_the_harness_s():
    run = catalog.feature("tool_use").cli
    argv = cli_argv("/bin/claude", run, "claude-haiku-4-5-bedrock-converse", {"pdf": "/x.pdf"})
    assert argv == ["/bin/claude", "--print", "--output-format", "stream-json", "--verbose", "--model",
                    "claude-haiku-4-5-bedrock-converse", "--session-id", SESSION_ID, "--no-session-persistence",
                    "--allowed-tools", "Bash(echo pong)", "--permission-mode", "dontAsk", "--",
                    "Use the Bash tool to run the command `echo pong` and report what it printed."]
    vision = cli_argv("/bin/claude", catalog.feature("vision").cli, "m", {})
    assert "--" not in vision and vision[-2:] == ["--input-format", "stream-json"]
    pdf = cli_argv("/bin/claude", catalog.feature("pdf_input").cli, "m", {"pdf": "/tmp/f/marker.pdf"})
    assert "/tmp/f/marker.pdf." in pdf[-1]


def _exchange(body: dict, status: int, message: dict | None, turn: int = 0) -> ClientExchange:
    return ClientExchange(turn, body.get("model"), main_turn(body, "claude-haiku-4-5-azure"), status,
                          "application/json", json.dumps(message or {"error": {"message": "refused"}}).encode(),
                          from_anthropic_json(message) if message else None)


def test_captured_outcome_counts_claude_codes_own_turns_only():
    model = "claude-haiku-4-5-azure"
    reply = {"content": [{"type": "text", "text": "pong"}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 1, "cache_read_input_tokens": 3}}
    title = _exchange({"model": "claude-haiku-4-5-20251001"}, 400, None)  # another model: the session title
    search = _exchange({"model": model, "tools": [{"type": "web_search_20250305", "name": "web_search"}]}, 400, None)
    own = _exchange({"model": model, "tools": [{"name": "Bash", "input_schema": {}}]}, 200, reply, 2)
    assert (title.main, search.main, own.main) == (False, False, True)
    out = captured_outcome([title, search, own], model)
    assert out.failure is None and out.text == "pong" and out.usage["cache_read_input_tokens"] == 3
    failed = captured_outcome([_exchange({"model": model}, 400, None)], model)
    assert failed.failure == "Claude Code stops: API Error: 400 refused"


def test_the_session_title_on_the_cell_s_model_is_a_side_request_and_retries_may_interleave():
    """2.1.228 sends its session-title request on the cell's model, beside its first turn:
    on a fault row both fail once and their retries interleave (title, turn, title, turn)."""
    import httpx
    import respx

    from ccmatrix.cassette.models import Body, RecordedRequest
    from ccmatrix.client.driver import send_requests

    model = "claude-haiku-4-5-azure"
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    title = {"model": model, "max_tokens": 32000, "tools": [], "temperature": 1,
             "messages": [{"role": "user", "content": "<session>ping</session> Write the title"}],
             "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": schema}}}
    own = {"model": model, "max_tokens": 32000, "tools": [{"name": "Bash", "input_schema": {}}],
           "messages": [{"role": "user", "content": "ping"}]}
    assert not main_turn(title, model) and main_turn(own, model)
    assert main_turn({**own, "output_config": {"effort": "high"}}, model)  # effort alone is no title
    seen: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body["messages"][0]["content"])
        if seen.count(seen[-1]) == 1:  # each request's first attempt is throttled
            return httpx.Response(429, headers={"retry-after": "1"},
                                  json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}})
        text = '{"title": "Ping"}' if body is not None and "output_config" in body else "pong"
        return httpx.Response(200, json={"content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                         "usage": {"input_tokens": 1, "output_tokens": 1}})

    requests = [RecordedRequest(method="POST", url="/v1/messages", headers={}, body=Body(json_=b))
                for b in (title, own, title, own)]
    with respx.mock(base_url="http://proxy", assert_all_called=True) as proxy, \
            httpx.Client(base_url="http://proxy") as http:
        proxy.post("/v1/messages").mock(side_effect=provider)
        exchanges = send_requests(http, requests, model)
    assert [(ex.main, ex.status, ex.retried) for ex in exchanges] == [
        (False, 429, True), (True, 429, True), (False, 200, False), (True, 200, False)]
    out = captured_outcome(exchanges, model)
    assert out.failure is None and out.text == "pong"


def test_probes_are_the_harness_s_requests():
    count = probe_request("count_tokens", "claude-opus-4-7-vertex")
    assert (count.path, count.body) == ("/v1/messages/count_tokens", {
        "model": "claude-opus-4-7-vertex", "messages": [{"role": "user", "content": "hello world"}]})
    assert "anthropic-beta" not in count.headers
    search = probe_request("tool_search", "claude-haiku-4-5")
    assert search.body["max_tokens"] == 64
    assert search.body["tools"][0] == {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}


def test_inputs_are_deterministic():
    assert inputs.marker_pdf() == inputs.marker_pdf() and pdf_text(inputs.marker_pdf()) == "PONG"
    event = json.loads(inputs.vision_event())
    assert event["type"] == "user" and [b["type"] for b in event["message"]["content"]] == ["text", "image"]
    text = inputs.long_context_text()
    assert inputs.LONG_CONTEXT_CHARS <= len(text) < inputs.LONG_CONTEXT_CHARS + 100
    assert text.endswith("Please reply with the single word 'ok'.")


@pytest.mark.parametrize("feature, step", [
    ("tool_use", {"name": "Bash", "input": {"command": "echo pong", "description": "Run echo pong"}}),
    ("thinking_with_tool_use", {"name": "Bash", "input": {"command": "echo pong", "description": "Run echo pong"}}),
    ("web_search", {"name": "WebSearch", "input": {"query": "a news headline published this week about Anthropic"}}),
])
def test_the_emulator_reads_the_harness_prompts_as_tool_calls(feature, step):
    assert intent_steps(catalog.feature(feature).cli.prompt) == [step]
    assert intent_steps(catalog.feature("pdf_input").cli.prompt.format(pdf="/tmp/f/marker.pdf")) == [
        {"name": "Read", "input": {"file_path": "/tmp/f/marker.pdf"}}]
    assert intent_steps(catalog.feature("basic_messaging_streaming").cli.prompt) == []
