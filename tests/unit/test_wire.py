"""Wire codecs: byte-exact round trips, with botocore as the event stream oracle."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.parsers import EventStreamJSONParser

from ccmatrix.wire import (
    EventStreamDecodeError,
    decode_eventstream,
    decode_sse,
    encode_eventstream,
    encode_message,
    encode_sse,
    encode_sse_event,
)

# ---------------------------------------------------------------- SSE

ANTHROPIC_SSE = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message",'
    b'"role":"assistant","model":"claude-sonnet-4-6","content":[],"stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Gr\xc3\xbc\xc3\x9fe \xe2\x80\x94"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)

SSE_SAMPLES = {
    "anthropic": ANTHROPIC_SSE,
    "empty": b"",
    "multi_data_lines": b"event: x\ndata: first\ndata: second\ndata: \n\n",
    "empty_data_no_space": b"event: x\ndata:\n\n",
    "comment": b": keep-alive\n\nevent: ping\ndata: {}\n\n",
    "crlf": b"event: a\r\ndata: {\"k\":1}\r\n\r\nevent: b\r\ndata: 2\r\n\r\n",
    "lone_cr": b"data: 1\rdata: 2\r\r",
    "mixed_endings": b"event: a\r\ndata: 1\n\r\n",
    "no_event_line": b'data: {"a":1}\n\ndata: [DONE]\n\n',
    "event_only": b"event: ping\n\n",
    "no_space_after_colon": b"event:x\ndata:{}\n\n",
    "id_and_retry": b"id: 7\nretry: 1000\nevent: x\ndata: 1\n\n",
    "data_before_event": b"data: 1\nevent: x\n\n",
    "two_event_lines": b"event: a\nevent: b\ndata: 1\n\n",
    "non_compact_json": b'event: x\ndata: {"a": 1, "b": [1, 2]}\n\n',
    "duplicate_keys": b'data: {"a":1,"a":2}\n\n',
    "nan": b"data: NaN\n\ndata: [1,Infinity]\n\n",
    "float_spelling": b"data: 1e5\n\ndata: 1.50\n\n",
    "ascii_escapes": b'data: {"t":"\\u00e9"}\n\n',
    "leading_blank_lines": b"\n\nevent: a\ndata: 1\n\n",
    "trailing_partial": b"event: a\ndata: 1\n\nevent: b\ndata: {\"trunc",
    "trailing_partial_line_done": b"event: a\ndata: 1\n",
    "not_utf8": b"event: a\ndata: \xff\xfe\n\nevent: b\ndata: 2\n\n",
    "unicode_line_separators": "data: a\u2028b\x0bc\x1cd\x85e\n\n".encode(),
    "field_without_colon": b"data\n\n",
    "bom": b"\xef\xbb\xbfevent: a\ndata: 1\n\n",
}


@pytest.mark.parametrize("name", SSE_SAMPLES)
def test_sse_round_trip_is_byte_exact(name: str) -> None:
    data = SSE_SAMPLES[name]
    events = decode_sse(data)
    assert encode_sse(events) == data
    # the cassette form must survive a JSON file
    assert encode_sse(json.loads(json.dumps(events, ensure_ascii=False))) == data


def test_sse_anthropic_events_are_structured() -> None:
    events = decode_sse(ANTHROPIC_SSE)
    assert [e.get("event") for e in events] == [
        "message_start", "content_block_start", "ping", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    assert events[0]["data"]["message"]["usage"]["input_tokens"] == 12
    # `{"type": "ping"}` is not compact: kept as text so it replays as sent
    assert events[2] == {"event": "ping", "data_text": '{"type": "ping"}'}
    assert events[3]["data"]["delta"]["text"] == "Grüße —"
    assert all("raw" not in e for e in events)


def test_sse_fallbacks() -> None:
    assert decode_sse(SSE_SAMPLES["multi_data_lines"]) == [{"event": "x", "data_text": "first\nsecond\n"}]
    assert decode_sse(SSE_SAMPLES["no_event_line"]) == [{"data": {"a": 1}}, {"data_text": "[DONE]"}]
    assert decode_sse(SSE_SAMPLES["comment"])[0] == {"raw": ": keep-alive\n\n"}
    assert decode_sse(SSE_SAMPLES["crlf"])[0] == {"raw": 'event: a\r\ndata: {"k":1}\r\n\r\n'}
    assert decode_sse(SSE_SAMPLES["trailing_partial"])[-1] == {"raw": 'event: b\ndata: {"trunc'}
    assert decode_sse(SSE_SAMPLES["nan"])[0] == {"data_text": "NaN"}
    assert decode_sse(SSE_SAMPLES["not_utf8"])[0] == {"raw_b64": base64.b64encode(b"event: a\ndata: \xff\xfe\n\n").decode()}
    assert decode_sse(SSE_SAMPLES["event_only"]) == [{"event": "ping"}]
    # "\u00e9" re-encodes as "é" (ensure_ascii=False): not the sent bytes, so text
    assert decode_sse(SSE_SAMPLES["ascii_escapes"]) == [{"data_text": '{"t":"\\u00e9"}'}]


def test_sse_encode_event_shapes() -> None:
    assert encode_sse_event({"event": "e", "data": {"a": [1, "é"]}}) == 'event: e\ndata: {"a":[1,"é"]}\n\n'.encode()
    assert encode_sse_event({"data": None}) == b"data: null\n\n"
    assert encode_sse_event({"data_text": "a\nb"}) == b"data: a\ndata: b\n\n"
    with pytest.raises(ValueError):
        encode_sse_event({"event": "e", "dta": {}})
    with pytest.raises(ValueError):
        encode_sse_event({"data": 1, "data_text": "1"})


def test_sse_round_trip_fuzz() -> None:
    """Random streams built from SSE-ish fragments, including malformed ones."""
    pieces = [b"event: ", b"data: ", b"data:", b": c", b"id: 1", b"{}", b'{"a":1}', b'{"a": 1}', b"x",
              b"\n", b"\n", b"\r\n", b"\r", b"\xc3\xa9", b"\xff", b" ", b"[1,2]", b"null"]  # fmt: skip
    rng = random.Random(1234)
    for _ in range(500):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert encode_sse(decode_sse(data)) == data, data


# ---------------------------------------------------------------- event stream

BEDROCK_HEADERS = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}


def _botocore_messages(data: bytes) -> list:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def _invoke_chunk(event: dict, ensure_ascii: bool = False, **extra: str) -> bytes:
    inner = base64.b64encode(json.dumps(event, separators=(",", ":"), ensure_ascii=ensure_ascii).encode()).decode()
    return json.dumps({"bytes": inner, **extra}, separators=(",", ":")).encode()


def test_empty_message_matches_the_aws_test_vector() -> None:
    # aws-c-event-stream's "empty message" vector: 16 bytes, two CRCs
    assert encode_message({}, b"").hex() == "000000100000000005c248eb7d98c8ff"


def test_encoded_messages_are_accepted_by_botocore() -> None:
    payload = _invoke_chunk({"type": "message_stop"}, p="abcdefgh")
    data = encode_message(BEDROCK_HEADERS, payload) * 3
    messages = _botocore_messages(data)
    assert len(messages) == 3
    assert messages[0].headers == BEDROCK_HEADERS
    assert list(messages[0].headers) == list(BEDROCK_HEADERS)  # order kept
    assert messages[0].payload == payload


def test_every_header_type_round_trips() -> None:
    headers = {
        "s": "plain string",
        "t": {"type": "bool", "value": True},
        "f": {"type": "bool", "value": False},
        "i8": {"type": "int8", "value": -128},
        "i16": {"type": "int16", "value": 32767},
        "i32": {"type": "int32", "value": -5},
        "i64": {"type": "int64", "value": 2**62},
        "b": {"type": "bytes", "value": base64.b64encode(b"\x00\x01\xff").decode()},
        "ts": {"type": "timestamp", "value": 1_700_000_000_123},
        "u": {"type": "uuid", "value": "12345678-1234-5678-1234-567812345678"},
        "s2": {"type": "string", "value": "explicit"},
    }
    data = encode_message(headers, b"payload")
    (message,) = _botocore_messages(data)
    assert message.headers == {
        "s": "plain string", "t": True, "f": False, "i8": -128, "i16": 32767, "i32": -5, "i64": 2**62,
        "b": b"\x00\x01\xff", "ts": 1_700_000_000_123,
        "u": bytes.fromhex("12345678123456781234567812345678"), "s2": "explicit",
    }  # fmt: skip
    (decoded,) = decode_eventstream(data)
    assert decoded["headers"] == {**headers, "s2": "explicit"}  # explicit strings come back plain
    assert list(decoded["headers"]) == list(headers)
    assert encode_eventstream([decoded]) == data


def test_bedrock_invoke_chunks_show_the_inner_event() -> None:
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hé"}}
    data = encode_message(BEDROCK_HEADERS, _invoke_chunk(event, p="abcdefghijklmnopqrstuvwxyzABCDEFGH"))
    (decoded,) = decode_eventstream(data)
    assert decoded == {"headers": BEDROCK_HEADERS, "payload": {"bytes_json": event, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"}}
    assert list(decoded["payload"]) == ["bytes_json", "p"]
    assert encode_eventstream([decoded]) == data

    # padding before "bytes": key order still reproduced
    padded_first = json.dumps({"p": "abc", "bytes": json.loads(_invoke_chunk(event))["bytes"]}, separators=(",", ":")).encode()
    data = encode_message(BEDROCK_HEADERS, padded_first)
    (decoded,) = decode_eventstream(data)
    assert list(decoded["payload"]) == ["p", "bytes_json"]
    assert encode_eventstream([decoded]) == data

    # \u-escaped inner JSON is not what compact json.dumps writes: stays base64
    data = encode_message(BEDROCK_HEADERS, _invoke_chunk(event, ensure_ascii=True))
    (decoded,) = decode_eventstream(data)
    assert set(decoded["payload"]) == {"bytes"}
    assert encode_eventstream([decoded]) == data


def test_payload_forms_fall_back_when_not_reproducible() -> None:
    spaced_inner = base64.b64encode(b'{"type": "message_stop"}').decode()
    samples = {
        "non_compact_inner": (json.dumps({"bytes": spaced_inner}, separators=(",", ":")).encode(), "payload"),
        "non_compact_outer": (b'{"bytes": "e30="}', "payload_text"),
        "not_json": (b"hello", "payload_text"),
        "binary": (b"\x00\xff\x10", "payload_b64"),
        "empty": (b"", "payload_text"),
        "bytes_json_key_literal": (b'{"bytes_json":1}', "payload_text"),  # would read as the wrapped form
        "nan": (b'{"a":NaN}', "payload_text"),
        "bytes_not_base64": (b'{"bytes":"not base64!"}', "payload"),
    }
    for name, (payload, form) in samples.items():
        data = encode_message({":event-type": "x"}, payload)
        (decoded,) = decode_eventstream(data)
        assert form in decoded, name
        assert encode_eventstream([decoded]) == data, name
    (decoded,) = decode_eventstream(encode_message({}, samples["non_compact_inner"][0]))
    assert decoded["payload"] == {"bytes": spaced_inner}


def test_corrupted_crc_is_rejected_by_botocore() -> None:
    good = encode_message(BEDROCK_HEADERS, b'{"a":1}')
    for position in (9, len(good) - 1):  # prelude CRC, message CRC
        bad = bytearray(good)
        bad[position] ^= 0x01
        with pytest.raises(ChecksumMismatch):
            _botocore_messages(bytes(bad))
        with pytest.raises(EventStreamDecodeError):
            decode_eventstream(good + bytes(bad), strict=True)
        decoded = decode_eventstream(good + bytes(bad))  # lenient: the rest kept verbatim
        assert decoded[0]["payload"] == {"a": 1}
        assert decoded[1]["raw_b64"] == base64.b64encode(bytes(bad)).decode()
        assert encode_eventstream(decoded) == good + bytes(bad)
    bad = bytearray(good)
    bad[-6] ^= 0x01  # payload byte: caught by the message CRC
    with pytest.raises(ChecksumMismatch):
        _botocore_messages(bytes(bad))


def test_truncated_stream_round_trips() -> None:
    good = encode_message(BEDROCK_HEADERS, b'{"a":1}')
    for cut in (1, 11, 12, len(good) - 1):
        data = good + good[:cut]
        decoded = decode_eventstream(data)
        assert len(decoded) == 2 and "raw_b64" in decoded[1]
        assert encode_eventstream(decoded) == data
        with pytest.raises(EventStreamDecodeError):
            decode_eventstream(data, strict=True)


def test_unknown_header_type_is_kept_verbatim() -> None:
    header = b"\x01x\x0a"  # type 10 does not exist
    body = struct.pack("!II", 16 + len(header), len(header))
    body += struct.pack("!I", zlib.crc32(body)) + header
    data = body + struct.pack("!I", zlib.crc32(body))
    decoded = decode_eventstream(data)
    assert "raw_b64" in decoded[0]
    assert encode_eventstream(decoded) == data


def test_encoder_rejects_bad_headers() -> None:
    for headers in ({"": "x"}, {"x" * 256: "x"}, {"n": 5}, {"n": {"type": "float", "value": 1.0}}, {"n": "x" * 70000}):
        with pytest.raises(ValueError):
            encode_message(headers, b"")


class _RawStream:
    """What botocore's EventStream reads from: an object with .stream()."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def stream(self):
        return iter(self.chunks)

    def close(self) -> None:
        pass


def _modeled(shape_name: str, operation: str, chunks: list[bytes]) -> list[dict]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return list(EventStream(_RawStream(chunks), model.shape_for(shape_name), EventStreamJSONParser(), operation))


def test_modeled_parser_reads_invoke_stream() -> None:
    events = [{"type": "message_start", "message": {}}, {"type": "message_stop"}]
    chunks = [encode_message(BEDROCK_HEADERS, _invoke_chunk(e, p="xyz")) for e in events]
    data = b"".join(chunks)
    # split at odd places: the parser must reassemble messages across reads
    parsed = _modeled("ResponseStream", "InvokeModelWithResponseStream", [data[:5], data[5:40], data[40:]])
    assert [json.loads(p["chunk"]["bytes"]) for p in parsed] == events
    assert encode_eventstream(decode_eventstream(data)) == data


def test_modeled_parser_reads_converse_stream() -> None:
    def message(kind: str, payload: dict) -> bytes:
        headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
        return encode_message(headers, json.dumps(payload, separators=(",", ":")).encode())

    data = b"".join(
        [
            message("messageStart", {"role": "assistant"}),
            message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}),
            message("contentBlockStop", {"contentBlockIndex": 0}),
            message("messageStop", {"stopReason": "end_turn"}),
            message("metadata", {"usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3}, "metrics": {"latencyMs": 5}}),
        ]
    )
    parsed = _modeled("ConverseStreamOutput", "ConverseStream", [data])
    assert parsed[1] == {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "hi"}}}
    assert parsed[4]["metadata"]["usage"]["totalTokens"] == 3
    decoded = decode_eventstream(data)
    assert decoded[3] == {
        "headers": {":event-type": "messageStop", ":content-type": "application/json", ":message-type": "event"},
        "payload": {"stopReason": "end_turn"},
    }
    assert encode_eventstream(json.loads(json.dumps(decoded))) == data
