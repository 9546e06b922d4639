"""The provider emulator, judged by the official clients' parsers.

Anthropic's SDK (first-party, Foundry, Vertex and Bedrock clients) builds the
requests and parses the answers; botocore's bedrock-runtime client does the
same for Converse and the modeled event streams. Where a parser tolerates
unknown fields, the tests also check that nothing was left unparsed.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import anthropic
import botocore.session
import httpx
import pydantic
import pytest
import respx
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from ccmatrix.emulator import EmulatedRequest, EmulatedResponse, EmulatorServer, respond
from ccmatrix.wire import decode_eventstream, decode_sse

HAIKU_BEDROCK = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ANTHROPIC_HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json"}
SIGV4 = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"}
HELLO = [{"role": "user", "content": "hello"}]


def call(host: str, path: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST") -> EmulatedResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return respond(EmulatedRequest(method, host, path, dict(headers or {}), raw))


def body_json(response: EmulatedResponse) -> Any:
    return json.loads(response.body)


# ---------------------------------------------------------------- SDK plumbing


class Recorder:
    """Answers an httpx request with respond() and remembers the requests."""

    def __init__(self) -> None:
        self.requests: list[EmulatedRequest] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        req = EmulatedRequest(
            method=request.method,
            host=request.headers.get("host", request.url.host),
            path=request.url.raw_path.decode(),
            headers=dict(request.headers),
            body=request.read(),
        )
        self.requests.append(req)
        res = respond(req)
        # a stream is handed over chunk by chunk, as it would arrive
        content = iter(res.chunks) if res.streamed else res.body
        return httpx.Response(res.status, headers=res.headers, content=content)

    def client(self) -> httpx.Client:
        """An httpx client whose every request respx routes to the emulator (the SDK's
        own HTTP stack, no socket)."""
        router = respx.Router(assert_all_mocked=True)
        router.route().mock(side_effect=self)
        return httpx.Client(transport=httpx.MockTransport(router.handler))


def assert_fully_parsed(model: pydantic.BaseModel) -> None:
    """The SDK models allow extra fields; a field it does not know is a bug here."""
    assert not model.model_extra, f"{type(model).__name__} has unknown fields {model.model_extra}"
    for value in model.__dict__.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, pydantic.BaseModel):
                assert_fully_parsed(item)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def first_party(recorder: Recorder) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", http_client=recorder.client(), max_retries=0)


# ---------------------------------------------------------------- first party


def test_first_party_message(first_party: anthropic.Anthropic, recorder: Recorder) -> None:
    message = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=HELLO)
    assert_fully_parsed(message)
    assert message.model == "claude-sonnet-4-6"
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "ccmatrix emulator: synthetic reply (sonnet, 1 message)"
    assert message.id.startswith("msg_01") and len(message.id) == 28
    assert message.usage.input_tokens == len(recorder.requests[0].body) // 4 > 0
    assert message.usage.cache_read_input_tokens == 0
    # the raw JSON is exactly the Message type, nothing more
    raw = json.loads(respond(recorder.requests[0]).body)
    assert anthropic.types.Message.model_validate(raw).model_dump(mode="json", exclude_unset=True) == raw


def test_first_party_stream(first_party: anthropic.Anthropic) -> None:
    with first_party.messages.stream(model="claude-opus-4-7", max_tokens=100, messages=HELLO * 3) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert_fully_parsed(final)
    assert final.content[0].text == "ccmatrix emulator: synthetic reply (opus, 3 messages)"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert 2 <= len(deltas) <= 3  # the text arrives in pieces


def test_first_party_stream_event_order(first_party: anthropic.Anthropic, recorder: Recorder) -> None:
    raw_events = list(first_party.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO, stream=True))
    types = [e.type for e in raw_events]
    assert types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    res = respond(recorder.requests[0])
    assert res.headers["content-type"].startswith("text/event-stream")
    sse = decode_sse(res.body)
    assert [e["event"] for e in sse] == ["message_start", "content_block_start", "ping"] + ["content_block_delta"] * len(
        [t for t in types if t == "content_block_delta"]
    ) + ["content_block_stop", "message_delta", "message_stop"]
    assert [(e.get("data") or json.loads(e["data_text"]))["type"] for e in sse] == [e["event"] for e in sse]
    assert len(res.chunks) == len(sse)  # one event per chunk
    # as the real API writes them: ping in Python's spacing, every other event padded with
    # 0-15 spaces before its closing brace (shared/reference/provider-captures)
    assert [e["data_text"] for e in sse if e["event"] == "ping"] == ['{"type": "ping"}']
    assert all(0 <= e.get("pad", 0) <= 15 for e in sse) and any(e.get("pad") for e in sse)


@pytest.mark.parametrize("thinking", [{"type": "enabled", "budget_tokens": 2048}, {"type": "adaptive"}])
def test_thinking_block_comes_first(first_party: anthropic.Anthropic, thinking: dict) -> None:
    message = first_party.messages.create(model="claude-haiku-4-5", max_tokens=4096, messages=HELLO, thinking=thinking)
    assert_fully_parsed(message)
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert "synthetic thinking" in message.content[0].thinking
    assert len(message.content[0].signature) > 50
    with first_party.messages.stream(model="claude-haiku-4-5", max_tokens=4096, messages=HELLO, thinking=thinking) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == message.content[0].thinking
    delta_types = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert delta_types[0] == "thinking_delta" and "signature_delta" in delta_types
    assert delta_types.index("signature_delta") < delta_types.index("text_delta")


def test_thinking_display_omitted_keeps_only_the_signature(first_party: anthropic.Anthropic) -> None:
    thinking = {"type": "adaptive", "display": "omitted"}
    message = first_party.messages.create(model="claude-opus-4-7", max_tokens=4096, messages=HELLO, thinking=thinking)
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking == "" and message.content[0].signature


def test_disabled_thinking_has_no_thinking_block(first_party: anthropic.Anthropic) -> None:
    message = first_party.messages.create(model="claude-opus-4-7", max_tokens=10, messages=HELLO, thinking={"type": "disabled"})
    assert [b.type for b in message.content] == ["text"]


def test_count_tokens(first_party: anthropic.Anthropic, recorder: Recorder) -> None:
    counted = first_party.messages.count_tokens(model="claude-sonnet-4-6", messages=HELLO)
    assert recorder.requests[0].route_path == "/v1/messages/count_tokens"
    assert counted.input_tokens == len(recorder.requests[0].body) // 4


def test_beta_query_and_client_errors(first_party: anthropic.Anthropic, recorder: Recorder) -> None:
    message = first_party.beta.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=HELLO, betas=["context-1m-2025-08-07"])
    assert recorder.requests[0].path == "/v1/messages?beta=true"
    assert message.content[0].type == "text"
    with pytest.raises(anthropic.BadRequestError) as excinfo:
        first_party.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=HELLO, extra_body={"anthropic_version": "x"})
    body = dict(excinfo.value.body)
    assert body.pop("request_id").startswith("req_011C")  # real error bodies carry the request id
    assert body == {"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic_version: Extra inputs are not permitted"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "max_tokens": 5}, "messages: Field required"),
        ({"model": "m", "messages": HELLO}, "max_tokens: Field required"),
        ({"max_tokens": 5, "messages": HELLO}, "model: Field required"),
        ({"model": "m", "max_tokens": 5, "messages": HELLO, "frequency_penalty": 1}, "frequency_penalty: Extra inputs are not permitted"),
        ({"model": "m", "max_tokens": "5", "messages": HELLO}, "max_tokens: Input should be a valid integer"),
        (b"{not json", "The request body is not valid JSON."),
        ([1, 2], "The request body is not valid JSON."),
    ],
)
def test_first_party_validation(body: Any, message: str) -> None:
    for host, path, headers in (
        ("api.anthropic.com", "/v1/messages", ANTHROPIC_HEADERS),
        ("ccm.services.ai.azure.com", "/anthropic/v1/messages", {"api-key": "k"}),
    ):
        res = call(host, path, body, headers)
        assert res.status == 400
        error = body_json(res)
        assert error.pop("request_id").startswith("req_011C")
        assert error == {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def test_first_party_auth_and_version_headers() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": HELLO}
    res = call("api.anthropic.com", "/v1/messages", body, {"anthropic-version": "2023-06-01"})
    assert res.status == 401 and body_json(res)["error"]["type"] == "authentication_error"
    res = call("api.anthropic.com", "/v1/messages", body, {"x-api-key": "k"})
    assert res.status == 400 and "anthropic-version" in body_json(res)["error"]["message"]
    res = call("ccm.services.ai.azure.com", "/anthropic/v1/messages", body, {})
    assert res.status == 401 and body_json(res)["error"]["code"] == "401"


# ---------------------------------------------------------------- Azure AI Foundry


def test_foundry_with_the_foundry_client(recorder: Recorder) -> None:
    client = anthropic.AnthropicFoundry(resource="ccm-res", api_key="k", http_client=recorder.client(), max_retries=0)
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HELLO)
    assert_fully_parsed(message)
    assert (recorder.requests[0].hostname, recorder.requests[0].route_path) == ("ccm-res.services.ai.azure.com", "/anthropic/v1/messages")
    assert message.content[0].text == "ccmatrix emulator: synthetic reply (haiku, 1 message)"
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=HELLO) as stream:
        assert stream.get_final_message().content[0].text == message.content[0].text


# ---------------------------------------------------------------- Vertex AI


@pytest.fixture
def vertex(recorder: Recorder) -> anthropic.AnthropicVertex:
    return anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="ya29.t", http_client=recorder.client(), max_retries=0)


def test_vertex_raw_predict(vertex: anthropic.AnthropicVertex, recorder: Recorder) -> None:
    message = vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10, messages=HELLO)
    assert_fully_parsed(message)
    req = recorder.requests[0]
    assert req.hostname == "us-east5-aiplatform.googleapis.com"
    assert req.route_path.endswith("/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict")
    assert message.model == "claude-haiku-4-5@20251001"
    assert message.id.startswith("msg_vrtx_01")
    assert message.content[0].text == "ccmatrix emulator: synthetic reply (haiku, 1 message)"


def test_vertex_stream_raw_predict(vertex: anthropic.AnthropicVertex, recorder: Recorder) -> None:
    with vertex.messages.stream(model="claude-sonnet-4-6", max_tokens=10, messages=HELLO, thinking={"type": "adaptive"}) as stream:
        final = stream.get_final_message()
    assert recorder.requests[0].route_path.endswith(":streamRawPredict")
    assert [b.type for b in final.content] == ["thinking", "text"]
    # LiteLLM's spelling: ?alt=sse
    body = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": HELLO, "stream": True}
    path = "/v1/projects/p/locations/global/publishers/anthropic/models/claude-opus-4-7:streamRawPredict?alt=sse"
    res = call("aiplatform.googleapis.com", path, body, {"Authorization": "Bearer t"})
    assert res.status == 200 and res.streamed
    last = decode_sse(res.body)[-1]
    assert {k: v for k, v in last.items() if k != "pad"} == {"event": "message_stop", "data": {"type": "message_stop"}}


def test_vertex_count_tokens(vertex: anthropic.AnthropicVertex, recorder: Recorder) -> None:
    counted = vertex.messages.count_tokens(model="claude-sonnet-4-6", messages=HELLO)
    assert recorder.requests[0].route_path.endswith("/models/count-tokens:rawPredict")
    assert counted.input_tokens > 0


def test_vertex_errors() -> None:
    path = "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6:rawPredict"
    good = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": HELLO}
    host = "us-east5-aiplatform.googleapis.com"
    assert call(host, path, good, {"Authorization": "Bearer t"}).status == 200
    res = call(host, path, good)
    assert res.status == 401 and body_json(res)["error"]["status"] == "UNAUTHENTICATED"
    for bad in ({**good, "model": "claude-sonnet-4-6"}, {k: v for k, v in good.items() if k != "anthropic_version"}, {**good, "anthropic_version": "bedrock-2023-05-31"}):
        res = call(host, path, bad, {"Authorization": "Bearer t"})
        assert res.status == 400
        error = body_json(res)["error"]
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT") and error["message"]
    res = call(host, path, {k: v for k, v in good.items() if k != "max_tokens"}, {"Authorization": "Bearer t"})
    assert res.status == 400 and body_json(res)["error"]["message"] == "max_tokens: Field required"


def test_google_token_endpoint() -> None:
    form = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aaa.bbb.ccc"
    res = call("oauth2.googleapis.com", "/token", form, {"content-type": "application/x-www-form-urlencoded"})
    assert res.status == 200
    token = body_json(res)
    assert token["access_token"].startswith("ya29.ccmatrix-emulator-")
    assert (token["expires_in"], token["token_type"]) == (3599, "Bearer")
    assert call("oauth2.googleapis.com", "/token", form).body == res.body  # deterministic
    assert body_json(call("oauth2.googleapis.com", "/token", form.replace(b"ccc", b"ddd")))["access_token"] != token["access_token"]
    assert body_json(call("oauth2.googleapis.com", "/token", b"grant_type=password"))["error"] == "unsupported_grant_type"
    assert body_json(call("oauth2.googleapis.com", "/token", form.replace(b"aaa.bbb.ccc", b"nope")))["error"] == "invalid_grant"
    assert call("oauth2.googleapis.com", "/token", b"grant_type=refresh_token&refresh_token=r").status == 200


# ---------------------------------------------------------------- Bedrock InvokeModel


@pytest.fixture
def bedrock_sdk(recorder: Recorder) -> anthropic.AnthropicBedrock:
    return anthropic.AnthropicBedrock(aws_access_key="AKIDEXAMPLE", aws_secret_key="secret", aws_region="us-east-1", http_client=recorder.client(), max_retries=0)


def test_bedrock_invoke_with_the_bedrock_client(bedrock_sdk: anthropic.AnthropicBedrock, recorder: Recorder) -> None:
    message = bedrock_sdk.messages.create(model=HAIKU_BEDROCK, max_tokens=10, messages=HELLO)
    assert_fully_parsed(message)
    req = recorder.requests[0]
    assert req.header("authorization").startswith("AWS4-HMAC-SHA256 ")
    assert req.route_path == f"/model/{HAIKU_BEDROCK}/invoke"
    # InvokeModel's ids: msg_bdrk_ + 52 lowercase base32 (a real InvokeModel answer)
    assert re.fullmatch(r"msg_bdrk_[a-z2-7]{52}", message.id) and message.model == HAIKU_BEDROCK
    res = respond(req)
    assert int(res.headers["X-Amzn-Bedrock-Input-Token-Count"]) == message.usage.input_tokens


def test_bedrock_invoke_stream_with_the_bedrock_client(bedrock_sdk: anthropic.AnthropicBedrock, recorder: Recorder) -> None:
    with bedrock_sdk.messages.stream(model=HAIKU_BEDROCK, max_tokens=4096, messages=HELLO, thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        final = stream.get_final_message()
    assert recorder.requests[0].route_path.endswith("/invoke-with-response-stream")
    assert [b.type for b in final.content] == ["thinking", "text"]
    res = respond(recorder.requests[0])
    assert res.headers["content-type"] == "application/vnd.amazon.eventstream"
    messages = decode_eventstream(res.body)
    assert len(messages) == len(res.chunks)
    assert all(m["headers"] == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"} for m in messages)
    last = messages[-1]["payload"]["bytes_json"]
    assert last["type"] == "message_stop"
    assert last["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == final.usage.output_tokens


def test_bedrock_invoke_litellm_style_request() -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO, "output_config": {"effort": "high"}}
    path = "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"
    res = call("bedrock-runtime.us-west-2.amazonaws.com", path, body, SIGV4)
    assert res.status == 200 and body_json(res)["model"] == HAIKU_BEDROCK


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "claude"}, "Malformed input request: #: extraneous key [model] is not permitted, please reformat your input and try again."),
        ({"stream": True}, "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."),
        ({"anthropic_version": None}, "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."),
        ({"max_tokens": None}, "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again."),
        ({"anthropic_version": "vertex-2023-10-16"}, "anthropic_version: Input should be 'bedrock-2023-05-31'"),
    ],
)
def test_bedrock_invoke_validation(change: dict, message: str) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO, **change}
    body = {k: v for k, v in body.items() if v is not None}
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke", body, SIGV4)
    assert res.status == 400
    assert body_json(res) == {"message": message}
    assert res.headers["x-amzn-ErrorType"] == "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"


def test_bedrock_requires_aws_auth() -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO}
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke", body, {"x-api-key": "k"})
    assert res.status == 403 and body_json(res) == {"message": "Missing Authentication Token"}


# ---------------------------------------------------------------- botocore as the client


class _RawStream(io.BytesIO):
    """What botocore reads a response from: .stream() for event streams, .read() for blobs."""

    def __init__(self, chunks: list[bytes]) -> None:
        super().__init__(b"".join(chunks))
        self.chunks = chunks

    def stream(self, **_: Any):
        return iter(self.chunks)


@pytest.fixture(scope="module")
def boto_bedrock():
    """A real botocore bedrock-runtime client whose HTTP send is respond()."""
    client = botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )
    seen: list[EmulatedRequest] = []

    def send(request, **_: Any) -> AWSResponse:
        parts = urlsplit(request.url)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        req = EmulatedRequest(request.method, parts.netloc, parts.path + (f"?{parts.query}" if parts.query else ""), headers, body)
        seen.append(req)
        res = respond(req)
        return AWSResponse(request.url, res.status, res.headers, _RawStream(res.chunks))

    client.meta.events.register("before-send.bedrock-runtime", send)
    client.seen = seen
    return client


CONVERSE_MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]


def test_converse_parsed_by_botocore(boto_bedrock) -> None:
    out = boto_bedrock.converse(modelId=HAIKU_BEDROCK, messages=CONVERSE_MESSAGES, inferenceConfig={"maxTokens": 10}, system=[{"text": "be brief"}])
    raw = json.loads(respond(boto_bedrock.seen[-1]).body)
    out.pop("ResponseMetadata")
    # botocore parses every modeled member; what it drops is what real answers carry beyond
    # the model (serverToolUsage, the ...TokenCount spelling: real Converse recordings)
    assert out["output"] == raw["output"] and out["stopReason"] == raw["stopReason"]
    assert {k: v for k, v in raw["usage"].items() if k in out["usage"]} == out["usage"]
    assert set(raw["usage"]) - set(out["usage"]) <= {"serverToolUsage", "cacheReadInputTokenCount", "cacheWriteInputTokenCount"}
    assert out["output"]["message"]["content"] == [{"text": "ccmatrix emulator: synthetic reply (haiku, 1 message)"}]
    assert out["stopReason"] == "end_turn"
    usage = out["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert boto_bedrock.seen[-1].route_path == "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"


def test_converse_reasoning(boto_bedrock) -> None:
    extra = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    out = boto_bedrock.converse(modelId=HAIKU_BEDROCK, messages=CONVERSE_MESSAGES, additionalModelRequestFields=extra)
    reasoning = out["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
    assert "synthetic thinking" in reasoning["text"] and reasoning["signature"]
    assert "text" in out["output"]["message"]["content"][1]


def test_converse_stream_parsed_by_botocore(boto_bedrock) -> None:
    extra = {"thinking": {"type": "adaptive"}}
    out = boto_bedrock.converse_stream(modelId="us.anthropic.claude-opus-4-7", messages=CONVERSE_MESSAGES * 1, additionalModelRequestFields=extra)
    events = list(out["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    reasoning = [e["contentBlockDelta"]["delta"]["reasoningContent"] for e in events if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == 0]
    assert "".join(r.get("text", "") for r in reasoning).startswith("ccmatrix emulator: synthetic thinking (opus)")
    assert "signature" in reasoning[-1]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e and e["contentBlockDelta"]["contentBlockIndex"] == 1)
    assert text == "ccmatrix emulator: synthetic reply (opus, 1 message)"
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    assert events[-1]["metadata"]["usage"]["totalTokens"] > 0
    # nothing dropped by the modeled parser but Bedrock's `p` padding (and serverToolUsage)
    raw = [m["payload"] for m in decode_eventstream(respond(boto_bedrock.seen[-1]).body)]
    assert all(isinstance(r.pop("p"), str) for r in raw)
    raw[-1]["usage"].pop("serverToolUsage")
    assert [next(iter(e.values())) for e in events] == raw


def test_invoke_stream_parsed_by_botocore(boto_bedrock) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": HELLO}
    out = boto_bedrock.invoke_model_with_response_stream(modelId=HAIKU_BEDROCK, body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert set(events[-1]["amazon-bedrock-invocationMetrics"]) == {"inputTokenCount", "outputTokenCount", "invocationLatency", "firstByteLatency"}
    out = boto_bedrock.invoke_model(modelId=HAIKU_BEDROCK, body=json.dumps(body))
    assert json.loads(out["body"].read())["content"][0]["type"] == "text"


def test_bedrock_errors_parsed_by_botocore(boto_bedrock) -> None:
    with pytest.raises(boto_bedrock.exceptions.ValidationException) as excinfo:
        boto_bedrock.invoke_model(modelId=HAIKU_BEDROCK, body=json.dumps({"model": "x", "max_tokens": 1, "messages": HELLO}))
    assert "required key [anthropic_version]" in str(excinfo.value)


@pytest.mark.parametrize(
    "body",
    [
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO},  # an Invoke body
        {"messages": HELLO},  # Anthropic-style string content
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        {"messages": []},
        {"messages": [{"role": "system", "content": [{"text": "hi"}]}]},
        {"messages": CONVERSE_MESSAGES, "system": "be brief"},
    ],
)
def test_converse_rejects_other_shapes(body: dict) -> None:
    for action in ("converse", "converse-stream"):
        res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/{action}", body, SIGV4)
        assert res.status == 400 and body_json(res)["message"]
        assert res.headers["x-amzn-ErrorType"].startswith("ValidationException")


# ---------------------------------------------------------------- routing, determinism


@pytest.mark.parametrize(
    ("host", "path", "method"),
    [
        ("example.com", "/v1/messages", "POST"),
        ("api.anthropic.com", "/v1/complete", "POST"),
        ("api.anthropic.com", "/v1/messages", "GET"),
        ("bedrock-runtime.us-east-1.amazonaws.com", "/model/x/invoke-async", "POST"),
        ("us-east5-aiplatform.googleapis.com", "/v1/projects/p/locations/l/publishers/google/models/gemini:generateContent", "POST"),
        ("oauth2.googleapis.com", "/tokeninfo", "POST"),
    ],
)
def test_unknown_routes_are_404(host: str, path: str, method: str) -> None:
    res = call(host, path, {}, {**ANTHROPIC_HEADERS, **SIGV4}, method=method)
    assert res.status == 404
    assert host in body_json(res)["error"]["message"]


def test_host_port_is_ignored_for_routing() -> None:
    res = call("api.anthropic.com:443", "/v1/messages", {"model": "m", "max_tokens": 5, "messages": HELLO}, ANTHROPIC_HEADERS)
    assert res.status == 200


def test_same_request_same_bytes() -> None:
    cases = [
        ("api.anthropic.com", "/v1/messages", {"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": HELLO, "stream": True}, ANTHROPIC_HEADERS),
        ("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke-with-response-stream", {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO, "thinking": {"type": "enabled", "budget_tokens": 1024}}, SIGV4),
        ("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/converse-stream", {"messages": CONVERSE_MESSAGES}, SIGV4),
    ]  # fmt: skip
    for host, path, body, headers in cases:
        first, second = call(host, path, body, headers), call(host, path, body, headers)
        assert first.status == 200 and first.chunks == second.chunks and first.headers == second.headers
        other = call(host, path, {**body, "messages": HELLO * 2 if "anthropic_version" in body or "model" in body else CONVERSE_MESSAGES * 2}, headers)
        assert other.body != first.body


# ---------------------------------------------------------------- the HTTP server


def test_server_streams_chunks_separately() -> None:
    body = {"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": HELLO, "stream": True}
    delay = 0.02
    with EmulatorServer(chunk_delay=delay) as srv, httpx.Client() as client:
        with client.stream("POST", f"{srv.url}/v1/messages", json=body, headers={**ANTHROPIC_HEADERS, "Host": "api.anthropic.com"}) as res:
            assert res.status_code == 200
            assert res.headers["transfer-encoding"] == "chunked"
            arrivals = [(time.monotonic(), piece) for piece in res.iter_raw()]
        assert srv.requests[0].host == "api.anthropic.com"
    expected = respond(srv.requests[0])
    assert len(expected.chunks) > 5
    assert [piece for _, piece in arrivals] == expected.chunks
    assert arrivals[-1][0] - arrivals[0][0] >= (len(arrivals) - 1) * delay * 0.8


def test_server_plain_responses_keep_alive_and_chunked_requests() -> None:
    with EmulatorServer() as srv, httpx.Client(base_url=srv.url) as client:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": HELLO}
        raw = json.dumps(body).encode()
        host = {"Host": "bedrock-runtime.us-east-1.amazonaws.com", **SIGV4}
        plain = client.post(f"/model/{HAIKU_BEDROCK}/invoke", content=raw, headers=host)
        assert plain.status_code == 200 and int(plain.headers["content-length"]) == len(plain.content)
        # a chunked request body (an iterator) arrives whole
        chunked = client.post(f"/model/{HAIKU_BEDROCK}/invoke", content=iter([raw[:7], raw[7:]]), headers=host)
        assert chunked.content == plain.content
        stream = client.post(f"/model/{HAIKU_BEDROCK}/invoke-with-response-stream", content=raw, headers=host)
        assert decode_eventstream(stream.content, strict=True)[-1]["payload"]["bytes_json"]["type"] == "message_stop"
        missing = client.post("/nowhere", headers={"Host": "example.com"})
        assert missing.status_code == 404
        assert [r.body for r in srv.requests[:2]] == [raw, raw]


def test_server_reports_responder_bugs_as_500() -> None:
    def broken(_: EmulatedRequest) -> EmulatedResponse:
        raise RuntimeError("boom")

    with EmulatorServer(responder=broken) as srv:
        res = httpx.post(f"{srv.url}/x", headers={"Host": "api.anthropic.com"})
    assert res.status_code == 500 and "boom" in res.json()["error"]["message"]


def test_server_command_line() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ccmatrix.emulator.server", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ccmatrix emulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        res = httpx.post(f"{url}/token", content=b"grant_type=refresh_token&refresh_token=r", headers={"Host": "oauth2.googleapis.com"})
        assert res.status_code == 200 and res.json()["token_type"] == "Bearer"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert "Warning" not in proc.stderr.read()
