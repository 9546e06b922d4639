"""Stream chunkings: every one delivers the same bytes, cut where it says; the delivery
server keeps the cuts apart on a real socket; recorded read boundaries survive."""

from __future__ import annotations

import json
import socket
import time

import pytest

from ccmatrix.emulator import EmulatedRequest, EmulatedResponse, respond
from ccmatrix.recorder import chunking
from ccmatrix.recorder.delivery import DeliveryServer
from ccmatrix.recorder.record import record_response

SIGV4 = {"authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, "
                          "SignedHeaders=content-type;host;x-amz-date, Signature=00"}
THINKING = {"type": "enabled", "budget_tokens": 1024}


def _stream(kind: str):
    """An emulated streamed answer (thinking, so its text has multi-byte characters), as a recorder stores it."""
    messages = [{"role": "user", "content": [{"type": "text", "text": "Think, then say hi."}]}]
    if kind == "sse":
        body = {"model": "claude-sonnet-4-6", "max_tokens": 2048, "stream": True, "thinking": THINKING,
                "messages": messages}
        req = EmulatedRequest("POST", "api.anthropic.com", "/v1/messages",
                              {"x-api-key": "k", "anthropic-version": "2023-06-01"}, json.dumps(body).encode())
    else:
        body = {"messages": [{"role": "user", "content": [{"text": "Think, then say hi."}]}],
                "inferenceConfig": {"maxTokens": 2048},
                "additionalModelRequestFields": {"thinking": THINKING}}
        req = EmulatedRequest("POST", "bedrock-runtime.us-east-1.amazonaws.com",
                              "/model/us.anthropic.claude-sonnet-4-6/converse-stream", SIGV4, json.dumps(body).encode())
    answer = respond(req)
    assert answer.status == 200 and answer.streamed, answer.body[:300]
    return answer, record_response(answer.status, answer.headers.items(), answer.body)


@pytest.fixture(params=["sse", "aws-eventstream"])
def stream(request):
    return _stream(request.param)


@pytest.mark.parametrize("name", list(chunking.CHUNKINGS))
def test_every_chunking_delivers_the_body_unchanged(stream, name):
    answer, recorded = stream
    pieces = chunking.cut(recorded, name)
    assert b"".join(pieces) == answer.body
    assert all(pieces), "an empty write would end a chunked body early"


def test_coalesced_is_one_write_and_events_one_per_event(stream):
    _, recorded = stream
    assert len(chunking.cut(recorded, "coalesced")) == 1
    assert len(chunking.cut(recorded, "events")) == len(recorded.stream.events)


def test_mid_event_cuts_every_event_in_two(stream):
    _, recorded = stream
    events = chunking.event_bytes(recorded.stream)
    pieces = chunking.cut(recorded, "mid-event")
    assert len(pieces) == 2 * len(events)
    assert not set(pieces) & set(events), "no event arrives whole"


def test_mid_char_cuts_inside_multibyte_characters(stream):
    _, recorded = stream
    pieces = chunking.cut(recorded, "mid-char")
    broken = [p for p in pieces if _ends_inside_a_character(p)]
    assert broken, "the thinking text has multi-byte characters: some write must end inside one"
    for piece in broken:
        with pytest.raises(UnicodeDecodeError):
            piece.decode("utf-8")


def _ends_inside_a_character(piece: bytes) -> bool:
    return piece[-1] >= 0xC2 and piece[-1] <= 0xF4


def test_recorded_boundaries_replay_the_reads_they_came_from(stream):
    answer, _ = stream
    body = answer.body
    # reads as a network might make them: ragged, one inside an event, one across several
    reads = [5, 200, 3, 1000, 17, len(body)]
    total, lengths = 0, []
    for length in reads:
        length = min(length, len(body) - total)
        if length > 0:
            lengths.append(length)
            total += length
    if total < len(body):
        lengths.append(len(body) - total)
    recorded = record_response(answer.status, answer.headers.items(), body, reads=lengths)
    assert recorded.stream.boundaries, "the read boundaries are kept with the stream"
    assert [len(p) for p in chunking.cut(recorded, "recorded")] == lengths


def test_recorded_without_boundaries_is_one_write_per_event(stream):
    _, recorded = stream
    assert recorded.stream.boundaries is None
    assert chunking.cut(recorded, "recorded") == chunking.event_bytes(recorded.stream)


def test_plain_bodies_are_never_cut():
    recorded = record_response(200, [("content-type", "application/json")], b'{"input_tokens": 12}')
    for name in chunking.CHUNKINGS:
        assert chunking.cut(recorded, name) == [b'{"input_tokens":12}']


@pytest.mark.parametrize("value, expected", [
    ("coalesced", ["coalesced"]),
    ("all", list(chunking.CHUNKINGS)),
    ("mid-char, events,mid-char", ["mid-char", "events"]),
])
def test_parse_chunkings(value, expected):
    assert chunking.parse_chunkings(value) == expected


@pytest.mark.parametrize("value", ["", "bytes7", "events,nope"])
def test_parse_chunkings_names_what_is_wrong(value):
    with pytest.raises(ValueError, match="--chunkings: unknown chunking .*choose from coalesced"):
        chunking.parse_chunkings(value)


def test_delivery_server_keeps_the_writes_apart():
    """Over a real loopback socket, a reader that reads as fast as it can gets the
    pieces in several reads, never the whole body in the first."""
    pieces = [b"event: a\ndata: {\"x\":", b"1}\n\n", b"event: b\ndata: {}\n\n"] * 4
    server = DeliveryServer(gap=0.02)
    try:
        token = server.add(EmulatedResponse(200, {"content-type": "text/event-stream"}, pieces))
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: x\r\n{DeliveryServer.HEADER}: {token}\r\n\r\n".encode())
            reads, data, started = [], b"", time.monotonic()
            while not data.endswith(b"0\r\n\r\n") and time.monotonic() - started < 5:
                got = conn.recv(65536)
                if not got:
                    break
                reads.append(got)
                data += got
        body = _dechunk(data.split(b"\r\n\r\n", 1)[1])
        assert body == b"".join(pieces)
        assert len(reads) > len(pieces) // 2, f"{len(pieces)} pieces arrived in only {len(reads)} reads"
        # a token answers once: a retried request is the addon's to answer afresh
        assert server._respond(EmulatedRequest("GET", "x", "/", {DeliveryServer.HEADER: token})).status == 502
    finally:
        server.stop()


def test_delivery_server_refuses_an_unknown_token():
    server = DeliveryServer()
    try:
        answer = server._respond(EmulatedRequest("GET", "x", "/", {DeliveryServer.HEADER: "nope"}))
        assert answer.status == 502 and b"no parked replay answer" in answer.body
    finally:
        server.stop()


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out += rest[:size]
        data = rest[size + 2:]


# ---------------------------------------------------------------- one verdict from several chunkings


def _tier(status: str, error: str | None = None):
    from ccmatrix.verdict.results import TierResult

    return TierResult(feature="thinking", provider="anthropic", tier="haiku", model_alias="claude-haiku-4-5",
                      status=status, error=error, failed_checks=["stream_well_formed"] if error else [])


def test_a_tier_fails_under_the_first_chunking_that_fails_naming_it():
    from ccmatrix.run.cell import under_chunkings

    result = under_chunkings([("coalesced", _tier("pass")), ("events", _tier("pass")),
                              ("mid-char", _tier("fail", "stream_well_formed: bad UTF-8")),
                              ("mid-event", _tier("fail", "other"))])
    assert result.status == "fail"
    assert result.error == "under chunking mid-char: stream_well_formed: bad UTF-8"
    assert result.failed_checks == ["chunking:mid-char", "stream_well_formed"]
    assert result.chunkings == ["coalesced", "events", "mid-char", "mid-event"]


def test_a_tier_that_passes_every_chunking_reports_the_first_run():
    from ccmatrix.run.cell import under_chunkings

    first = _tier("changed")
    result = under_chunkings([("coalesced", first), ("events", _tier("pass"))])
    assert result is first and result.status == "changed" and result.error is None
    assert result.chunkings == ["coalesced", "events"]


def test_a_failure_under_the_first_chunking_is_the_plain_verdict():
    """It does not depend on how the stream was cut: its error stays as it is."""
    from ccmatrix.run.cell import under_chunkings

    result = under_chunkings([("coalesced", _tier("fail", "x")), ("events", _tier("fail", "y"))])
    assert result.error == "x" and result.failed_checks == ["stream_well_formed"]
    assert under_chunkings([("coalesced", _tier("fail", "x"))]).error == "x"
