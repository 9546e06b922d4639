"""AWS event stream (application/vnd.amazon.eventstream) <-> reviewable dicts, byte-exact.

Bedrock streams (InvokeModelWithResponseStream, ConverseStream) are binary:
each message is

    total length (u32) | headers length (u32) | CRC32 of those 8 bytes
    headers: name length (u8) | name | type (u8) | typed value ...
    payload
    CRC32 of everything before it

Decoding goes through botocore's `EventStreamBuffer` (the parser boto3 and the
Anthropic SDK use, so framing and CRC checks are theirs). botocore hands back
header values without their wire types (an int8 and an int64 both become int),
so the header bytes are re-read here to keep the types and order a byte-exact
re-encode needs. Encoding is our own and is tested against botocore.

A decoded message (one cassette entry):

    {"headers": {":event-type": "chunk", ":content-type": "application/json",
                 ":message-type": "event"},
     "payload": {...}}            # JSON that compact json.dumps reproduces
     | "payload_text": "..."      # other UTF-8
     | "payload_b64": "..."       # anything else

Header values are plain strings for the string type (what AWS sends) and
`{"type": "int32", "value": 5}` for the others (types: bool, int8, int16, int32,
int64, bytes (base64 value), string, timestamp (ms since epoch), uuid).

Bedrock InvokeModel chunks wrap one Anthropic stream event as
`{"bytes": base64(<event JSON>)}` (real Bedrock may add a padding key "p"); when
the base64 holds compact JSON it is shown as `{"bytes_json": <event>, ...}`
with the other keys kept in place. Bytes that no form reproduces (a truncated
or corrupt stream) become `{"raw_b64": ..., "note": ...}`; `strict=True` raises
instead.
"""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from typing import Any

from botocore.eventstream import EventStreamBuffer, ParserError

from ccmatrix.errors import CcmatrixError
from ccmatrix.wire.sse import NOT_JSON, compact_json, parse_json

__all__ = [
    "EventStreamDecodeError",
    "decode_eventstream",
    "encode_eventstream",
    "encode_message",
    "encode_payload",
]

_PRELUDE = 12  # total length, headers length, prelude CRC
_CRC = 4

# wire type id -> cassette type name; bool has two wire ids (the value is the id)
_TYPE_NAMES = {2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "bytes", 7: "string", 8: "timestamp", 9: "uuid"}
_TYPE_IDS = {name: type_id for type_id, name in _TYPE_NAMES.items()}
_INT_FORMATS = {"int8": "!b", "int16": "!h", "int32": "!i", "int64": "!q", "timestamp": "!q"}


class EventStreamDecodeError(CcmatrixError, ValueError):
    """The bytes are not a complete, valid event stream (strict decoding only)."""


# ---------------------------------------------------------------- encoding


def encode_message(headers: dict[str, Any], payload: bytes) -> bytes:
    """One event stream message. Header values: str, or {"type": ..., "value": ...}."""
    header_bytes = b"".join(_encode_header(name, value) for name, value in headers.items())
    total = _PRELUDE + len(header_bytes) + len(payload) + _CRC
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + header_bytes + payload
    # The message CRC covers everything before it, prelude CRC included.
    return message + struct.pack("!I", zlib.crc32(message))


def encode_eventstream(messages: list[dict]) -> bytes:
    """Inverse of decode_eventstream."""
    out = []
    for message in messages:
        if "raw_b64" in message:
            out.append(base64.b64decode(message["raw_b64"], validate=True))
        else:
            out.append(encode_message(message.get("headers", {}), encode_payload(message)))
    return b"".join(out)


def encode_payload(message: dict) -> bytes:
    """The payload bytes of a decoded message dict (whichever form it uses)."""
    forms = [key for key in ("payload", "payload_text", "payload_b64") if key in message]
    if len(forms) > 1:
        raise ValueError(f"event stream message has several payload forms {forms}")
    if "payload" in message:
        return compact_json(_wrap_bytes_json(message["payload"])).encode("utf-8")
    if "payload_text" in message:
        return message["payload_text"].encode("utf-8")
    if "payload_b64" in message:
        return base64.b64decode(message["payload_b64"], validate=True)
    return b""


def _wrap_bytes_json(payload: Any) -> Any:
    """{"bytes_json": event, ...} -> {"bytes": base64(compact event), ...}, same key order."""
    if not isinstance(payload, dict) or "bytes_json" not in payload:
        return payload
    wrapped = {}
    for key, value in payload.items():
        if key == "bytes_json":
            wrapped["bytes"] = base64.b64encode(compact_json(value).encode("utf-8")).decode("ascii")
        else:
            wrapped[key] = value
    return wrapped


def _encode_header(name: str, value: Any) -> bytes:
    raw_name = name.encode("utf-8")
    if not 0 < len(raw_name) < 256:
        raise ValueError(f"event stream header name must be 1-255 bytes: {name!r}")
    return struct.pack("!B", len(raw_name)) + raw_name + _encode_value(name, value)


def _encode_value(name: str, value: Any) -> bytes:
    if isinstance(value, str):
        kind, value = "string", value
    elif isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, dict) and set(value) == {"type", "value"}:
        kind, value = value["type"], value["value"]
    else:
        raise ValueError(f"header {name!r}: value must be a str or {{'type', 'value'}}, got {value!r}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"header {name!r}: bool value must be true/false")
        return struct.pack("!B", 0 if value else 1)
    if kind in ("string", "bytes"):
        raw = value.encode("utf-8") if kind == "string" else base64.b64decode(value, validate=True)
        if len(raw) > 0xFFFF:
            raise ValueError(f"header {name!r}: value longer than 65535 bytes")
        return struct.pack("!BH", _TYPE_IDS[kind], len(raw)) + raw
    if kind == "uuid":
        return struct.pack("!B", _TYPE_IDS[kind]) + uuid.UUID(value).bytes
    if kind in _INT_FORMATS:
        return struct.pack("!B", _TYPE_IDS[kind]) + struct.pack(_INT_FORMATS[kind], value)
    raise ValueError(f"header {name!r}: unknown type {kind!r}")


# ---------------------------------------------------------------- decoding


def decode_eventstream(data: bytes, strict: bool = False) -> list[dict]:
    """Split an event stream into message dicts; see the module docstring."""
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    messages: list[dict] = []
    offset = 0
    try:
        for message in buffer:
            length = message.prelude.total_length
            if length < _PRELUDE + _CRC:  # botocore would loop forever on it
                raise EventStreamDecodeError(f"message length {length} is below the minimum")
            messages.append(_describe(data[offset : offset + length], message.prelude.headers_length, message.payload))
            offset += length
    # botocore raises KeyError for an unknown header type, struct.error on short headers
    except (ParserError, EventStreamDecodeError, KeyError, struct.error) as exc:
        return _leftover(messages, data[offset:], f"undecodable at byte {offset}: {exc}", strict)
    if offset < len(data):
        return _leftover(messages, data[offset:], f"incomplete message at byte {offset}", strict)
    return messages


def _leftover(messages: list[dict], rest: bytes, note: str, strict: bool) -> list[dict]:
    if strict:
        raise EventStreamDecodeError(note)
    return messages + [{"raw_b64": base64.b64encode(rest).decode("ascii"), "note": note}]


def _describe(raw: bytes, headers_length: int, payload: bytes) -> dict:
    headers = _decode_headers(raw[_PRELUDE : _PRELUDE + headers_length])
    for form in _payload_forms(payload):
        message = {"headers": headers, **form}
        try:
            if encode_payload(message) == payload:
                break
        except ValueError:
            continue
    # Always true for a CRC-valid message; kept as a guard so a cassette can
    # never hold a reading that replays different bytes.
    if encode_message(headers, payload) != raw:
        return {"raw_b64": base64.b64encode(raw).decode("ascii"), "note": "header encoding not reproducible"}
    return message


def _payload_forms(payload: bytes) -> list[dict]:
    """Readings of a payload, most readable first; the last always fits."""
    forms: list[dict] = []
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return [{"payload_b64": base64.b64encode(payload).decode("ascii")}]
    parsed = parse_json(text)
    if parsed is not NOT_JSON:
        unwrapped = _unwrap_bytes_json(parsed)
        if unwrapped is not None:
            forms.append({"payload": unwrapped})
        forms.append({"payload": parsed})
    forms.append({"payload_text": text})
    return forms



def _unwrap_bytes_json(payload: Any) -> dict | None:
    """{"bytes": base64(JSON), ...} -> {"bytes_json": JSON, ...}, or None."""
    if not isinstance(payload, dict) or not isinstance(payload.get("bytes"), str) or "bytes_json" in payload:
        return None
    try:
        inner = parse_json(base64.b64decode(payload["bytes"], validate=True).decode("utf-8"))
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if inner is NOT_JSON:
        return None
    return {("bytes_json" if key == "bytes" else key): (inner if key == "bytes" else value) for key, value in payload.items()}


def _decode_headers(raw: bytes) -> dict[str, Any]:
    """Headers with their wire types, in wire order (botocore drops the types)."""
    headers: dict[str, Any] = {}
    pos = 0
    while pos < len(raw):
        name_length = raw[pos]
        name = raw[pos + 1 : pos + 1 + name_length].decode("utf-8")
        pos += 1 + name_length
        type_id = raw[pos]
        pos += 1
        if type_id in (0, 1):
            value: Any = {"type": "bool", "value": type_id == 0}
        else:
            kind = _TYPE_NAMES[type_id]
            if kind in ("string", "bytes"):
                (length,) = struct.unpack_from("!H", raw, pos)
                chunk = raw[pos + 2 : pos + 2 + length]
                pos += 2 + length
                # plain strings for the common case keep cassettes readable
                value = chunk.decode("utf-8") if kind == "string" else {"type": "bytes", "value": base64.b64encode(chunk).decode("ascii")}
            elif kind == "uuid":
                value = {"type": "uuid", "value": str(uuid.UUID(bytes=raw[pos : pos + 16]))}
                pos += 16
            else:
                fmt = _INT_FORMATS[kind]
                (number,) = struct.unpack_from(fmt, raw, pos)
                pos += struct.calcsize(fmt)
                value = {"type": kind, "value": number}
        headers[name] = value
    return headers
