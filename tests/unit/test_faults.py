"""Faults on purpose, judged by the official clients, and the fault rows' verdict.

The emulator runs as a real loopback server (it counts attempts), used as an HTTP proxy
so each client talks to the provider's own host name: the Anthropic SDK (first-party,
Vertex) and botocore (Bedrock) build the requests and parse the faults, and say whether
they retry them. The verdict is exercised on answers derived in code from the recorded
fault cassettes: as recorded, and as a proxy that mapped the fault worse would send them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from ccmatrix import catalog
from ccmatrix.cassette import RecordedRequest, RecordedResponse
from ccmatrix.cassette import store as cassettes
from ccmatrix.cassette.models import Body, Interaction
from ccmatrix.catalog.faults import IDLE_TIMEOUT_ENV, NATIVE, Fault, sdk_retries
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.driver import ClientExchange, captured_outcome, send_requests, stream_idle_timeout
from ccmatrix.emulator import EmulatorServer
from ccmatrix.providers.vertex_ai import vertex_array_form
from ccmatrix.recorder.exchanges import ClientLegExchange
from ccmatrix.recorder.match import match
from ccmatrix.verdict.faults import judge_fault
from ccmatrix.wire.messages import from_sse
from ccmatrix.wire.sse import decode_sse, encode_sse_event

HAIKU_BEDROCK = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def _prompt(kind: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"Reply with pong.\n{Fault(kind).directive}"}]  # type: ignore[arg-type]


@pytest.fixture
def server():
    with EmulatorServer() as srv:
        yield srv


def _anthropic(server: EmulatorServer, retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", base_url="http://api.anthropic.com", max_retries=retries,
                               http_client=httpx.Client(proxy=server.url))


def _boto(server: EmulatorServer):
    return botocore.session.get_session().create_client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        endpoint_url="http://bedrock-runtime.us-east-1.amazonaws.com",
        config=Config(retries={"total_max_attempts": 1}, proxies={"http": server.url}))


# ---------------------------------------------------------------- the emulator's faults


def test_anthropic_rate_limit_is_the_sdk_s_rate_limit_error_with_retry_after(server):
    with pytest.raises(anthropic.RateLimitError) as caught:
        _anthropic(server).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=_prompt("rate_limited"))
    assert caught.value.status_code == 429 and caught.value.response.headers["retry-after"] == "1"
    assert caught.value.body["error"]["type"] == "rate_limit_error"


def test_the_fault_clears_on_the_sdk_s_own_retry(server):
    message = _anthropic(server, retries=1).messages.create(model="claude-haiku-4-5", max_tokens=10,
                                                            messages=_prompt("overloaded"))
    assert message.content[0].text.startswith("ccmatrix emulator")
    assert [r.attempt for r in server.requests] == [0, 1]
    server.reset_attempts()  # a new cell: the same request fails again
    with pytest.raises(anthropic.APIStatusError) as caught:
        _anthropic(server).messages.create(model="claude-haiku-4-5", max_tokens=10, messages=_prompt("overloaded"))
    assert caught.value.status_code == 529 and caught.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_stream_error_is_an_error_event_after_partial_content(server):
    with pytest.raises(anthropic.APIStatusError) as caught:
        with _anthropic(server).messages.stream(model="claude-haiku-4-5", max_tokens=10,
                                                messages=_prompt("stream_error")) as stream:
            for _ in stream:
                pass
    assert "overloaded_error" in str(caught.value)
    events = [e["event"] for e in decode_sse(server_answer(server)) if e["event"] != "ping"]
    assert events == ["message_start", "content_block_start", "content_block_delta", "error"]


def server_answer(server: EmulatorServer) -> bytes:
    from ccmatrix.emulator import respond

    last = server.requests[-1]
    last.attempt = 0
    return respond(last).body


def test_a_cut_stream_closes_the_connection_after_the_first_delta(server):
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "stream": True, "messages": _prompt("stream_cut")}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    with httpx.Client(proxy=server.url) as http:
        cut = http.post("http://api.anthropic.com/v1/messages", json=body, headers=headers)
        again = http.post("http://api.anthropic.com/v1/messages", json=body, headers=headers)
    kinds = [e["event"] for e in decode_sse(cut.content) if e["event"] != "ping"]
    assert kinds == ["message_start", "content_block_start", "content_block_delta"]
    assert cut.headers["connection"] == "close" and cut.headers["x-ccmatrix-fault"] == "stream_cut"
    assert [e["event"] for e in decode_sse(again.content)][-1] == "message_stop"


def test_a_stalled_stream_goes_quiet_after_the_first_delta_until_the_client_leaves():
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "stream": True, "messages": _prompt("stream_stall")}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    with EmulatorServer(stall_hold=30) as server, httpx.Client(proxy=server.url, timeout=httpx.Timeout(5, read=1)) as http:
        got = bytearray()
        with http.stream("POST", "http://api.anthropic.com/v1/messages", json=body, headers=headers) as stalled:
            assert stalled.headers["x-ccmatrix-fault"] == "stream_stall"
            with pytest.raises(httpx.ReadTimeout):  # nothing more comes, and the stream does not end
                for data in stalled.iter_bytes():
                    got += data
        started = time.monotonic()
        again = http.post("http://api.anthropic.com/v1/messages", json=body, headers=headers)
    kinds = [e["event"] for e in decode_sse(bytes(got)) if e["event"] != "ping"]
    assert kinds == ["message_start", "content_block_start", "content_block_delta"]
    assert [e["event"] for e in decode_sse(again.content)][-1] == "message_stop"  # the retry is answered
    assert time.monotonic() - started < 5  # the server let go of the stall when the client left


def test_the_captured_client_gives_up_on_a_quiet_stream_as_claude_code_s_watchdog_does():
    body = {"model": "claude-haiku-4-5", "max_tokens": 10, "stream": True, "messages": _prompt("stream_stall")}
    retry = {**body, "stream": False}  # what the CLI asks next (measured, 2.1.332)
    requests = [RecordedRequest(method="POST", url="/v1/messages", body=Body(json=b),
                                headers={"anthropic-version": "2023-06-01"}) for b in (body, retry)]
    with EmulatorServer(stall_hold=30) as server, httpx.Client(
            base_url="http://api.anthropic.com", proxy=server.url, timeout=30, headers={"x-api-key": "k"}) as http:
        started = time.monotonic()
        stalled, answered = send_requests(http, requests, "claude-haiku-4-5", idle_timeout=1)
        took = time.monotonic() - started
    assert stalled.status == 200 and not stalled.message.stopped and stalled.retried and stalled.retryable_failure
    assert answered.message.text and captured_outcome([stalled, answered], "claude-haiku-4-5").failure is None
    assert took < 10  # the idle bound, not the server's 30 s hold
    assert stream_idle_timeout({IDLE_TIMEOUT_ENV: "2000"}) == 10 and stream_idle_timeout({}) is None  # the CLI's floor


@pytest.mark.parametrize("max_tokens", [10, 11])  # two requests, two seeds: both forms
def test_vertex_rate_limit_is_google_s_object_or_array_the_sdk_reads_as_429(server, max_tokens):
    client = anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="ya29.t", max_retries=0,
                                       base_url="http://us-east5-aiplatform.googleapis.com/v1",
                                       http_client=httpx.Client(proxy=server.url))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="claude-haiku-4-5@20251001", max_tokens=max_tokens, messages=_prompt("rate_limited"))
    body = caught.value.response.json()
    assert isinstance(body, list) is vertex_array_form(server.requests[-1].seed)
    assert (body[0] if isinstance(body, list) else body)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "retry-after" not in caught.value.response.headers


def test_the_vertex_rate_limit_row_records_both_forms():
    forms = set()
    for tier in ("haiku", "sonnet", "opus"):
        cell = catalog.CellTier.parse(f"fault_rate_limited/vertex_ai/{tier}")
        cassette = cassettes.load(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR)
        [limited] = [i.response for i in cassette.interactions if i.response.status == 429]
        forms.add(type(json.loads(limited.content())).__name__)
    assert forms == {"list", "dict"}


@pytest.mark.parametrize(("kind", "code", "status"), [("rate_limited", "ThrottlingException", 429),
                                                      ("overloaded", "ServiceUnavailableException", 503)])
def test_bedrock_faults_are_botocore_s_modeled_errors(server, kind, code, status):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": _prompt(kind)})
    with pytest.raises(ClientError) as caught:
        _boto(server).invoke_model(modelId=HAIKU_BEDROCK, body=body)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_bedrock_stream_errors_are_exception_frames_botocore_raises(server):
    client = _boto(server)
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": _prompt("stream_error")})
    stream = client.invoke_model_with_response_stream(modelId=HAIKU_BEDROCK, body=body)["body"]
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in stream:
            seen.append(json.loads(event["chunk"]["bytes"])["type"])
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert [kind for kind in seen if kind != "ping"] == ["message_start", "content_block_start", "content_block_delta"]
    converse = client.converse_stream(modelId=HAIKU_BEDROCK, messages=[
        {"role": "user", "content": [{"text": _prompt("stream_error")[0]["content"]}]}])["stream"]
    with pytest.raises(EventStreamError):
        list(converse)


def test_the_sdk_retry_rule():
    assert sdk_retries(429, {}) and sdk_retries(529, {}) and sdk_retries(503, {}) and sdk_retries(409, {})
    assert not sdk_retries(400, {}) and not sdk_retries(404, {})
    assert not sdk_retries(429, {"x-should-retry": "false"}) and sdk_retries(400, {"X-Should-Retry": "true"})


# ---------------------------------------------------------------- replay and the captured client


def _request(body: dict) -> RecordedRequest:
    return RecordedRequest(method="POST", url="https://api.anthropic.com/v1/messages", headers={},
                           body=Body(json=body))


def test_replay_answers_a_retry_with_the_recording_of_the_retry():
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1}
    recorded = [Interaction(request=_request(body), response=RecordedResponse(status=status)) for status in (429, 200)]
    assert match(recorded, _request(body), ()).index == 0
    assert match(recorded, _request(body), (), used={0}).index == 1
    assert match(recorded, _request(body), (), used={0, 1}).index == 0  # sent more often than recorded: still answered


def _exchange(status: int, retried: bool, headers: dict[str, str] | None = None) -> ClientExchange:
    raw = json.dumps({"type": "error", "error": {"type": "x", "message": "nope"}}).encode()
    return ClientExchange(0, "m", True, status, "application/json", raw, None, headers or {}, retried=retried)


def test_the_captured_client_reads_a_retried_fault_as_claude_code_does():
    ok = ClientExchange(1, "m", True, 200, "application/json", b"{}", from_sse(b""), {}, retried=False)
    assert captured_outcome([_exchange(429, retried=True), ok], "m").failure is None
    assert captured_outcome([_exchange(400, retried=True), ok], "m").failure  # not retried by Claude Code
    assert captured_outcome([_exchange(429, retried=True, headers={"x-should-retry": "false"}), ok], "m").failure
    assert captured_outcome([_exchange(529, retried=False)], "m").failure  # nothing after it: Claude Code gave up
    complete = ClientExchange(0, "m", True, 200, "application/json", b"{}", from_sse(b""), {}, retried=True)
    assert not complete.retryable_failure  # a JSON answer is whole: sent again, it was not a failure


# ---------------------------------------------------------------- the verdict


def _recorded(feature: str, provider: str = "anthropic"):
    cell = catalog.CellTier.parse(f"{feature}/{provider}/haiku")
    return cell, cassettes.load(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR)


def _client_leg(cell, cassette, answers: list[RecordedResponse]) -> list[ClientLegExchange]:
    """The cassette's client requests for the cell's own turns, answered by `answers`."""
    own = [r for r in cassette.client if (r.body.value() or {}).get("model") == cell.proxy_model]
    assert len(own) == len(answers)
    return [ClientLegExchange(request=r, response=a) for r, a in zip(own, answers)]


def _error(status: int, error_type: str, headers: dict[str, str] | None = None) -> RecordedResponse:
    return RecordedResponse(status=status, headers={"content-type": "application/json", **(headers or {})},
                            body=Body(json={"type": "error", "error": {"type": error_type, "message": "m"}}))


def _sse(events: list[dict]) -> RecordedResponse:
    data = b"".join(encode_sse_event({"event": e["type"], "data": e}) for e in events)
    return RecordedResponse(status=200, headers={"content-type": "text/event-stream"}, body=Body(text=data.decode()))


def _ended_cleanly(events: list[dict]) -> RecordedResponse:
    """A broken stream's events as a proxy that hides the failure would end them: the
    open block closed, then message_stop."""
    return _sse(events + [{"type": "content_block_stop", "index": 0},
                          {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}},
                          {"type": "message_stop"}])


def _upstream(cassette) -> list[RecordedResponse]:
    return [i.response for i in cassette.interactions]


def _clean(cassette) -> RecordedResponse:
    """The provider's answer to the retry, as a faithful proxy relays it (first party: as is)."""
    return cassette.interactions[-1].response


def test_a_faithful_rate_limit_passes_and_a_dropped_retry_after_fails():
    cell, cassette = _recorded("fault_rate_limited")
    fault = cell.feature.fault
    faithful = _client_leg(cell, cassette, [_error(429, "rate_limit_error", {"retry-after": "1"}), _clean(cassette)])
    failures, findings, turns = judge_fault(fault, cell, faithful, _upstream(cassette))
    assert (failures, findings, turns) == ([], [], {0})
    dropped = _client_leg(cell, cassette, [_error(429, "rate_limit_error"), _clean(cassette)])
    [failure], _, _ = judge_fault(fault, cell, dropped, _upstream(cassette))
    assert failure.kind == "fault" and "without the provider's retry-after (1)" in failure.message


def test_a_fault_mapped_to_an_answer_claude_code_does_not_retry_fails():
    cell, cassette = _recorded("fault_overloaded", "bedrock_invoke")
    leg = _client_leg(cell, cassette, [_error(400, "invalid_request_error"), _clean(cassette)])
    failures, _, _ = judge_fault(cell.feature.fault, cell, leg, _upstream(cassette))
    assert any("Claude Code does not retry it" in f.message and "529 overloaded_error" in f.message for f in failures)


def test_another_retryable_status_is_a_finding_not_a_failure():
    cell, cassette = _recorded("fault_overloaded")
    leg = _client_leg(cell, cassette, [_error(500, "api_error"), _clean(cassette)])
    failures, [finding], _ = judge_fault(cell.feature.fault, cell, leg, _upstream(cassette))
    assert failures == [] and finding.kind == "fault-mapping" and "500 api_error" in finding.message


@pytest.mark.parametrize("row", ["fault_stream_error", "fault_stream_cut"])
def test_a_broken_stream_closed_with_message_stop_is_a_truncated_success(row):
    cell, cassette = _recorded(row)
    broken = cassette.interactions[0].response
    events = [e["data"] for e in decode_sse(broken.content()) if e.get("event") not in ("error", "ping")]
    assert NATIVE["stream_error"].in_stream and events[-1]["type"] == "content_block_delta"
    swallowed = _ended_cleanly(events)
    leg = _client_leg(cell, cassette, [swallowed, _clean(cassette)])
    failures, _, _ = judge_fault(cell.feature.fault, cell, leg, _upstream(cassette))
    assert any("truncated answer taken as complete" in f.message for f in failures)
    relayed = _client_leg(cell, cassette, [broken, _clean(cassette)])
    assert judge_fault(cell.feature.fault, cell, relayed, _upstream(cassette))[:2] == ([], [])


def test_a_stall_claude_code_gave_up_on_passes_and_one_closed_with_message_stop_fails():
    cell, cassette = _recorded("fault_stream_stall")
    stalled = cassette.interactions[0].response
    events = [e["data"] for e in decode_sse(stalled.content()) if e.get("event") != "ping"]
    assert stalled.headers["x-ccmatrix-fault"] == "stream_stall" and events[-1]["type"] == "content_block_delta"
    # relayed as it is: the stream goes quiet, Claude Code's watchdog gives up, the retry is answered
    relayed = _client_leg(cell, cassette, [stalled, _clean(cassette)])
    relayed[0] = relayed[0].model_copy(update={"error": "Client disconnected."})
    assert judge_fault(cell.feature.fault, cell, relayed, _upstream(cassette))[:2] == ([], [])
    # a proxy that times the stall out itself and ends the stream cleanly
    closed = _ended_cleanly(events)
    leg = _client_leg(cell, cassette, [closed, _clean(cassette)])
    failures, _, _ = judge_fault(cell.feature.fault, cell, leg, _upstream(cassette))
    assert any("truncated answer taken as complete" in f.message for f in failures)
