"""The mitmproxy addons, run for real: `mitmdump -s ccmatrix/recorder/script/ccmatrix_recorder.py` on loopback.

Two mitmdumps start once for the module, side by side: one replaying a copy of
the bundled cassettes, one recording against the built-in emulator into an
empty directory. Requests go through them with httpx exactly as LiteLLM's would
(HTTPS via the proxy, trusting mitmproxy's CA). With connection_strategy=lazy
and the replay/emulate upstreams nothing leaves the machine.
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.emulator import EmulatedRequest, respond
from ccmatrix.providers.credentials import BEDROCK_API_KEY_PREFIX
from ccmatrix.proxy.mitmdump import Mitmdump, mitm_confdir
from ccmatrix.proxy.process import StackError
from ccmatrix.recorder import chunking
from ccmatrix.recorder.exchanges import CellEnd
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.write import write_cell
from tests.conftest import derive_cassette

NON_STREAMING = "tool_search/anthropic/haiku"  # a Messages request answered with JSON (the probe)
STREAMING = "basic_messaging_streaming/anthropic/haiku"
BEDROCK_STREAMING = "basic_messaging_streaming/bedrock_invoke/haiku"
CORRUPTED = "basic_messaging_streaming/vertex_ai/opus"  # only the corrupt-cassette test uses it
BEDROCK_HOST = "bedrock-runtime.us-east-1.amazonaws.com"
# what the live harness's Bedrock mode sends (the recorder holds each request to it;
# the recording's own is redacted)
BEDROCK_API_KEY = f"Bearer {BEDROCK_API_KEY_PREFIX}{'x' * 40}"


@dataclass
class Mitm:
    """A test's handle on one mitmdump: ccmatrix's own Mitmdump part, plus HTTPS clients."""

    part: Mitmdump

    @property
    def mode(self) -> str:
        return self.part.upstream

    @property
    def root(self) -> Path:
        return self.part.cassettes

    def client(self) -> httpx.Client:
        ca = mitm_confdir() / "mitmproxy-ca-cert.pem"
        return httpx.Client(proxy=self.part.proxy_url, verify=ssl.create_default_context(cafile=str(ca)),
                            trust_env=False, timeout=20)

    def control(self, path: str, payload: dict | None = None) -> httpx.Response:
        return self.part.control("POST", path, json=payload if payload is not None else {}, timeout=20)


def _start(mode: str, root: Path, log: Path) -> Mitm:
    """Launched, not waited for: both mitmdumps start side by side."""
    part = Mitmdump(mode, root, log)
    part.launch()
    return Mitm(part)


def _wait_ready(m: Mitm, timeout: float = 45.0) -> None:
    try:
        health = m.part.wait_ready(timeout)
    except StackError as exc:
        pytest.fail(f"mitmdump ({m.mode}): {exc}")
    assert health.upstream == m.mode


@pytest.fixture(scope="module")
def proxies(tmp_path_factory):
    """Both mitmdumps, started in parallel; always stopped, whatever happens."""
    base = tmp_path_factory.mktemp("addon")
    replay_root = base / "replay-cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, replay_root)
    record_root = base / "recorded"
    record_root.mkdir()
    started: list[Mitm] = []
    try:
        started.append(_start("replay", replay_root, base / "replay.log"))
        started.append(_start("emulate", record_root, base / "emulate.log"))
        for m in started:
            _wait_ready(m)
        yield {m.mode: m for m in started}
    finally:
        for m in started:
            m.part.stop()
        assert all(m.part.process.popen.poll() is not None for m in started)


@pytest.fixture
def replay(proxies) -> Mitm:
    m = proxies["replay"]
    yield m
    m.control("/cell/end")  # leave no cell in progress for the next test (409 when none)


@pytest.fixture
def emulate(proxies) -> Mitm:
    m = proxies["emulate"]
    yield m
    m.control("/cell/end")


def recorded(cell_id: str, root: Path = catalog.DEFAULT_CASSETTE_DIR) -> cassettes.Cassette:
    return cassettes.load(catalog.CellTier.parse(cell_id).cassette_path(root, CLAUDE_CODE_VERSION), root)


def send(http: httpx.Client, request: cassettes.RecordedRequest, body: bytes | None = None, **headers: str) -> httpx.Response:
    """The recorded request rebuilt as it went out: url, headers, body."""
    hdrs = {**request.headers, **{k.replace("_", "-"): v for k, v in headers.items()}}
    content = request.body.to_bytes() if body is None else body
    return http.request(request.method, request.url, headers=hdrs, content=content)


def begin(m: Mitm, cell_id: str) -> httpx.Response:
    return m.control("/cell/begin", {"cell": cell_id, "claude_code": CLAUDE_CODE_VERSION, "provenance": {}})


# ---------------------------------------------------------------- replay


def test_provider_request_outside_any_cell_is_refused(replay):
    request = recorded(NON_STREAMING).interactions[0].request
    with replay.client() as http:
        r = send(http, request)
    assert r.status_code == 502
    assert r.json() == {"error": "ccmatrix: request to api.anthropic.com outside any cell"}


def test_health_and_control_errors(replay):
    with replay.client() as http:
        health = http.get("http://ccmatrix.control/health").json()
        assert health["ok"] is True and health["upstream"] == "replay"
        r = http.post("http://ccmatrix.control/nope", json={})
        assert r.status_code == 404 and "unknown control path /nope" in r.json()["error"]
    r = replay.control("/cell/end")
    assert r.status_code == 409 and r.json() == {"error": "no cell in progress"}
    r = replay.control("/cell/begin", {"provenance": {}})
    assert r.status_code == 409  # no "cell"
    assert begin(replay, NON_STREAMING).status_code == 200
    assert replay.control("/cell/end").status_code == 200
    # the driver writes the cassette itself, from the CellEnd (ccmatrix.recorder.write)
    r = replay.control("/cell/write", {"verdict": {"status": "pass"}})
    assert r.status_code == 404 and "unknown control path /cell/write" in r.json()["error"]


def test_replay_answers_matches_and_refuses(replay):
    cell = catalog.CellTier.parse(NON_STREAMING)
    interaction = recorded(NON_STREAMING).interactions[0]
    request = interaction.request
    api_key = "sk-ant-api03-" + secrets.token_urlsafe(40)
    assert begin(replay, NON_STREAMING).json() == {"ok": True}
    with replay.client() as http:
        # the exact recorded request (with a real-looking key: keys are not compared, only redacted)
        ok = send(http, request, x_api_key=api_key)
        assert ok.status_code == 200, ok.text
        assert ok.content == interaction.response.content()
        assert ok.json() == interaction.response.body.json_
        assert ok.headers["content-type"] == "application/json"

        # a load-bearing value changed, nothing lost: the recording answers (a finding, not a mismatch)
        lowered = send(http, request, body=json.dumps({**request.body.json_, "max_tokens": 5}).encode(),
                       x_api_key=api_key)
        assert lowered.status_code == 200, lowered.text

        # a load-bearing field lost: refused in the provider's error shape, naming it
        body = {k: v for k, v in request.body.json_.items() if k != "tools"}
        bad = send(http, request, body=json.dumps(body).encode(), x_api_key=api_key)
        assert bad.status_code == 400
        assert bad.headers["x-ccmatrix-replay"] == "mismatch"
        error = bad.json()["error"]
        assert error["type"] == "invalid_request_error"
        message = error["message"]
        assert "closest is interaction #0" in message
        assert str(cell.cassette_path(replay.root, CLAUDE_CODE_VERSION)) in message
        assert "body.tools[0].name missing (recorded 'tool_search_tool_regex')" in message

        # a host no provider lives on, during the cell
        other = http.post("https://api.example.com/v1/messages", json={"max_tokens": 1})
        assert other.status_code == 502
        assert other.json()["error"] == "ccmatrix: api.example.com is not a host of any provider; refused"

    end = replay.control("/cell/end")
    assert end.status_code == 200
    seen = end.json()
    assert seen["cell"] == NON_STREAMING
    served, changed, mismatched, refused = seen["exchanges"]
    assert (served["served"], served["closest"], served["mismatch"], served["auth"]) == (0, 0, None, False)
    assert [d for d in served["diffs"] if d["load_bearing"]] == []
    assert served["request"]["headers"]["x-api-key"] == "<redacted>"
    assert api_key not in json.dumps(seen)
    assert (changed["served"], changed["mismatch"]) == (0, None)
    assert {"path": "body.max_tokens", "kind": "changed", "recorded": 64, "observed": 5, "load_bearing": True} \
        in changed["diffs"]
    assert (mismatched["served"], mismatched["closest"]) == (None, 0)
    assert mismatched["mismatch"] == message
    assert any(d["path"] == "body.tools[0].name" and d["kind"] == "missing" and d["load_bearing"]
               for d in mismatched["diffs"])
    assert refused == {"refused": "POST https://api.example.com/v1/messages"}
    # the cell is over: back to refusing
    with replay.client() as http:
        assert send(http, request).status_code == 502


def test_replay_of_a_bedrock_event_stream_is_byte_exact(replay):
    interaction = recorded(BEDROCK_STREAMING).interactions[0]
    assert begin(replay, BEDROCK_STREAMING).status_code == 200
    with replay.client() as http:
        r = send(http, interaction.request, authorization=BEDROCK_API_KEY)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert r.content == interaction.response.content()
    buffer = EventStreamBuffer()
    buffer.add_data(r.content)
    assert len(list(buffer)) == len(interaction.response.stream.events)
    exchanges = replay.control("/cell/end").json()["exchanges"]
    assert [e["served"] for e in exchanges] == [0]


@pytest.mark.parametrize("name", ["events", "mid-event", "mid-char", "recorded"])
@pytest.mark.parametrize("cell_id", [STREAMING, BEDROCK_STREAMING])
def test_replay_under_a_chunking_arrives_cut_and_byte_exact(replay, cell_id, name):
    """Through mitmproxy, as LiteLLM reads it: the same bytes, in (about) the writes the
    chunking made; coalesced would be one read."""
    interaction = recorded(cell_id).interactions[0]
    pieces = chunking.cut(interaction.response, name)
    assert len(pieces) > 1
    r = replay.control("/cell/begin", {"cell": cell_id, "claude_code": CLAUDE_CODE_VERSION, "provenance": {},
                                          "chunking": name})
    assert r.status_code == 200, r.text
    request = interaction.request
    headers = {"authorization": BEDROCK_API_KEY} if BEDROCK_HOST in request.url else {}
    with replay.client() as http:
        hdrs = {**request.headers, **headers}
        with http.stream(request.method, request.url, headers=hdrs, content=request.body.to_bytes()) as response:
            assert response.status_code == 200
            reads = [chunk for chunk in response.iter_raw() if chunk]
    assert b"".join(reads) == interaction.response.content()
    # a read cannot hold bytes not yet written; under load two writes may share one
    assert len(reads) > len(pieces) // 2, f"{len(pieces)} writes arrived in {len(reads)} reads"
    exchanges = replay.control("/cell/end").json()["exchanges"]
    assert [(e["served"], e["writes"]) for e in exchanges] == [(0, len(pieces))]


def test_a_chunking_that_does_not_exist_is_refused(replay):
    r = replay.control("/cell/begin", {"cell": STREAMING, "claude_code": CLAUDE_CODE_VERSION, "provenance": {},
                                          "chunking": "bytes7"})
    assert r.status_code == 409 and "chunking" in r.json()["error"]


def test_replay_holds_a_matching_request_to_the_providers_contract(replay):
    """A request that matches its recording but breaks a rule gets the provider's own
    error, and the exchange names the rule: a recording is no licence."""
    cell = "basic_messaging_non_streaming/bedrock_invoke/sonnet"
    path = derive_cassette(replay.root, cell, lambda d: d["interactions"][0]["request"]["body"]["json"].update(
        metadata={"user_id": "u", "tags": ["claude-code"]}))
    interaction = cassettes.load(path, replay.root).interactions[0]
    assert begin(replay, cell).status_code == 200
    with replay.client() as http:
        r = send(http, interaction.request, authorization=BEDROCK_API_KEY)
    assert r.status_code == 400
    assert r.json() == {"message": "metadata.tags: Extra inputs are not permitted"}
    assert r.headers["x-amzn-errortype"].startswith("ValidationException")
    (exchange,) = replay.control("/cell/end").json()["exchanges"]
    assert exchange["violation"]["rule"] == "bedrock_invoke.closed-objects"
    assert exchange["violation"]["evidence"][0] == "https://github.com/BerriAI/litellm/issues/30629"
    assert exchange["mismatch"] is None


def test_another_providers_host_is_answered_by_that_provider_and_reported(replay):
    """Claude Code may ask for a model the proxy serves from another provider: the request
    is that provider's, under its contract; nothing recorded stands for it (changed)."""
    invoke = recorded(BEDROCK_STREAMING).interactions[0].request
    assert begin(replay, STREAMING).status_code == 200  # an Anthropic cell
    with replay.client() as http:
        r = send(http, invoke, authorization=BEDROCK_API_KEY)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    (exchange,) = replay.control("/cell/end").json()["exchanges"]
    assert exchange["foreign_provider"] == "bedrock_invoke"
    assert exchange["changed"] == "new route" and exchange["mismatch"] is None


def test_unknown_cell_is_refused_with_the_known_ids(replay):
    r = begin(replay, "telepathy/anthropic/haiku")
    assert r.status_code == 409
    assert r.json()["error"].startswith("unknown feature 'telepathy'; known: basic_messaging_non_streaming, ")
    r = begin(replay, "basic_messaging_streaming/groq/haiku")
    assert r.status_code == 409 and r.json()["error"].startswith("unknown provider 'groq'; known: anthropic, ")
    r = begin(replay, "basic_messaging_streaming/openai/haiku")  # a provider, a tier, not of one family
    assert r.status_code == 409 and r.json()["error"].endswith("openai runs the tiers sol, terra, luna")
    r = begin(replay, "basic_messaging_streaming/anthropic")
    assert r.status_code == 409 and "is not feature/provider/tier" in r.json()["error"]


def test_corrupt_cassette_is_refused_naming_the_file(replay):
    path = derive_cassette(replay.root, CORRUPTED, lambda doc: doc["interactions"][0]["response"].update(status="OK"))
    r = begin(replay, CORRUPTED)
    assert r.status_code == 409
    assert r.json()["error"].startswith(f"{path}: interactions.0.response.status: ")
    path.write_text(path.read_text()[:400])  # now not even JSON
    r = begin(replay, CORRUPTED)
    assert r.status_code == 409
    assert r.json()["error"].startswith(f"{path}: not valid JSON")


def test_failed_begin_leaves_no_cell_in_progress(replay):
    request = recorded(NON_STREAMING).interactions[0].request
    assert begin(replay, NON_STREAMING).status_code == 200
    assert begin(replay, "telepathy/anthropic/haiku").status_code == 409
    with replay.client() as http:
        r = send(http, request)
    assert r.status_code == 502, r.status_code


def test_a_cell_replays_from_the_cassette_tree_it_names(replay, tmp_path):
    """One mitmdump serves cells of several cassette trees: BeginCell.root says whose."""
    other = tmp_path / "other-tree"
    shutil.copytree(replay.root, other)
    derive_cassette(other, NON_STREAMING, lambda doc: doc["interactions"][0]["response"].update(status=203))
    request = recorded(NON_STREAMING).interactions[0].request
    for root, status in ((other, 203), (None, 200), (other, 203)):
        payload = {"cell": NON_STREAMING, "claude_code": CLAUDE_CODE_VERSION, "provenance": {},
                   "root": str(root) if root else None}
        assert replay.control("/cell/begin", payload).status_code == 200
        with replay.client() as http:
            assert send(http, request).status_code == status, root
        assert replay.control("/cell/end").status_code == 200
    # a mismatch names the tree's own file
    assert replay.control("/cell/begin", {"cell": NON_STREAMING, "claude_code": CLAUDE_CODE_VERSION,
                                          "root": str(other)}).status_code == 200
    body = {k: v for k, v in request.body.json_.items() if k != "tools"}
    with replay.client() as http:
        bad = send(http, request, body=json.dumps(body).encode())
    assert str(catalog.CellTier.parse(NON_STREAMING).cassette_path(other, CLAUDE_CODE_VERSION)) \
        in bad.json()["error"]["message"]


# ---------------------------------------------------------------- emulate (record)


def test_emulate_records_a_redacted_decoded_cassette(emulate):
    streaming = recorded(STREAMING).interactions[0].request
    plain = recorded(NON_STREAMING).interactions[0].request
    api_key = "sk-ant-api03-" + secrets.token_urlsafe(40)
    assert begin(emulate, STREAMING).status_code == 200
    with emulate.client() as http:
        stream_response = send(http, streaming, x_api_key=api_key)
        json_response = send(http, plain, x_api_key=api_key)
        refused = http.post("https://api.example.com/v1/messages", json={})
    assert refused.status_code == 502
    # what the client got is the emulator's own answer, passed through untouched
    for response, request in ((stream_response, streaming), (json_response, plain)):
        assert response.status_code == 200, response.text
        direct = respond(EmulatedRequest("POST", "api.anthropic.com", "/v1/messages",
                                         {**request.headers, "x-api-key": api_key}, request.body.to_bytes()))
        assert response.content == direct.body
    assert stream_response.headers["content-type"].startswith("text/event-stream")

    end = emulate.control("/cell/end")
    assert end.status_code == 200
    exchanges = end.json()["exchanges"]
    assert [e.get("refused") for e in exchanges] == [None, None, "POST https://api.example.com/v1/messages"]
    assert exchanges[0]["response"]["stream"]["format"] == "sse"
    # the stream passed through chunk by chunk (the emulator flushes one event per
    # chunk), not buffered whole; the JSON answer was not streamed at all
    events = len(exchanges[0]["response"]["stream"]["events"])
    assert exchanges[0]["chunks"] > 1 and exchanges[0]["chunks"] <= events
    assert exchanges[1]["chunks"] is None

    # the driver writes the cassette from what /cell/end answered, as it came over the wire
    path = write_cell(emulate.root, catalog.CellTier.parse(STREAMING), CLAUDE_CODE_VERSION,
                      CellEnd.model_validate_json(end.content), cassettes.RecordedVerdict(status="pass"), {},
                      mode=Upstream.EMULATE)
    assert path == catalog.CellTier.parse(STREAMING).cassette_path(emulate.root, CLAUDE_CODE_VERSION)
    cassette = cassettes.load(path, emulate.root)
    assert cassette.cell.model_dump() == {"feature": "basic_messaging_streaming", "provider": "anthropic", "tier": "haiku",
                                          "proxy_model": "claude-haiku-4-5"}
    assert cassette.verdict.status == "pass" and cassette.provenance.source == "emulator"
    assert len(cassette.interactions) == 2

    # redacted: the key is nowhere in what was written (cassette and blobs)
    written = [p for p in emulate.root.rglob("*") if p.is_file()]
    assert path in written and any(p.parent.name == cassettes.BLOB_DIR for p in written)
    assert not [p for p in written if api_key in p.read_text()]
    stream_interaction, json_interaction = cassette.interactions
    assert stream_interaction.request.headers["x-api-key"] == "<redacted>"
    assert stream_interaction.request.body == streaming.body  # the same request as the bundled recording

    # stored decoded: SSE as events, JSON as JSON; both re-encode to the bytes the client saw
    stream = stream_interaction.response.stream
    assert stream is not None and stream_interaction.response.body is None
    assert stream.format == "sse"
    assert [e["event"] for e in stream.events][0] == "message_start"
    # compact JSON is parsed; the ping's spaced JSON (as the API sends it) is kept as text
    assert all(isinstance(e.get("data"), dict) for e in stream.events if e["event"] != "ping")
    assert [json.loads(e["data_text"]) for e in stream.events if e["event"] == "ping"] == [{"type": "ping"}]
    assert stream.boundaries is None, "the emulator's cuts are its own: not kept (live recordings keep theirs)"
    assert stream_interaction.response.content() == stream_response.content
    assert json_interaction.response.stream is None
    assert json_interaction.response.body.json_ == json_response.json()
    assert "content-length" not in json_interaction.response.headers

    # the cell is over: nothing more to end
    assert emulate.control("/cell/end").status_code == 409


# ---------------------------------------------------------------- without a driver


@dataclass
class _Driverless(Mitmdump):
    """mitmdump recording one cell tier by itself (`--set ccmatrix_cell=...`)."""

    cell: str = ""

    def command(self) -> list[str]:
        return [*super().command(), "--set", f"ccmatrix_cell={self.cell}"]


def test_without_a_driver_the_cell_is_written_when_mitmdump_exits(tmp_path):
    root = tmp_path / "recorded"
    root.mkdir()
    part = _Driverless("emulate", root, tmp_path / "mitmdump.log", cell=NON_STREAMING)  # type: ignore[arg-type]
    m = Mitm(part)
    try:
        part.start(timeout=45)
        with m.client() as http:
            r = send(http, recorded(NON_STREAMING).interactions[0].request)
        assert r.status_code == 200, r.text
    finally:
        part.stop()
    path = catalog.CellTier.parse(NON_STREAMING).cassette_path(root, CLAUDE_CODE_VERSION)
    cassette = cassettes.load(path, root)
    assert cassette.verdict == cassettes.RecordedVerdict(status="not_tested", error="recorded without a driver")
    assert cassette.provenance.source == "emulator" and len(cassette.interactions) == 1


def test_an_unknown_upstream_stops_mitmdump_at_configure(tmp_path):
    part = Mitmdump("recall", tmp_path, tmp_path / "mitmdump.log")  # type: ignore[arg-type]
    part.launch()
    try:
        assert part.process.popen.wait(timeout=45) != 0
    finally:
        part.stop()
    assert "ccmatrix_upstream must be one of ('replay', 'emulate', 'live'), not 'recall'" in part.log.read_text()
