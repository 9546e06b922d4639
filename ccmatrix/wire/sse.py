"""Server-sent events (text/event-stream) <-> reviewable event dicts, byte-exact.

Anthropic, Azure AI Foundry and Vertex stream Messages responses as SSE. A
cassette stores each event as a dict a reviewer can read:

    {"event": "message_start", "data": {...parsed JSON...}}
    {"event": "content_block_stop", "data": {...}, "pad": 7}   (7 spaces before the final brace,
                                                                as the Anthropic API pads its events)
    {"event": "ping", "data_text": "not json, or json not in compact form"}
    {"raw": "<the exact text of an event we cannot represent structurally>"}
    {"raw_b64": "<base64 of an event that is not even UTF-8>"}

The structured forms stand for one canonical encoding only
(`event: X\\n` + one `data: ` line per line of data + `\\n`); the decoder picks
one only after re-encoding it and comparing with the original bytes, so
`encode_sse(decode_sse(x)) == x` holds for any input, well-formed or not.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = ["NOT_JSON", "compact_json", "decode_sse", "encode_sse", "encode_sse_event", "parse_json"]

# One line with its terminator; SSE allows \r\n, \n and a lone \r. \r\n is tried
# first so it counts as one terminator. UTF-8 continuation bytes are >= 0x80, so
# splitting the bytes before decoding never cuts a character in two.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")

_TEXT_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")

_STRUCTURED_KEYS = {"event", "data", "data_text", "pad"}


def compact_json(value: Any) -> str:
    """The one JSON spelling the structured forms stand for (what Anthropic sends)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_sse(data: bytes) -> list[dict]:
    """Split an SSE byte stream into event dicts; see the module docstring."""
    events: list[dict] = []
    block_start = 0
    pos = 0
    for match in _LINE.finditer(data):
        pos = match.end()
        line = match.group().rstrip(b"\r\n")
        if line == b"":  # a blank line ends the event
            events.append(_describe_block(data[block_start:pos]))
            block_start = pos
    if block_start < len(data):  # trailing partial event (stream cut short)
        events.append(_verbatim(data[block_start:]))
    return events


def encode_sse(events: list[dict]) -> bytes:
    """Inverse of decode_sse."""
    return b"".join(encode_sse_event(event) for event in events)


def encode_sse_event(event: dict) -> bytes:
    """The bytes of one event dict (one stream chunk, for the emulator)."""
    if "raw" in event:
        return event["raw"].encode("utf-8")
    if "raw_b64" in event:
        return base64.b64decode(event["raw_b64"], validate=True)
    unknown = set(event) - _STRUCTURED_KEYS
    if unknown:
        raise ValueError(f"SSE event has unknown keys {sorted(unknown)}: {event!r}")
    if "data" in event and "data_text" in event:
        raise ValueError(f"SSE event has both data and data_text: {event!r}")
    out = []
    if "event" in event:
        out.append(f"event: {event['event']}\n")
    if "data" in event:
        text: str | None = padded(compact_json(event["data"]), event.get("pad", 0))
    else:
        text = event.get("data_text")
    if text is not None:
        # a newline inside the data can only travel as several data lines
        out.extend(f"data: {line}\n" for line in text.split("\n"))
    out.append("\n")
    return "".join(out).encode("utf-8")


def padded(text: str, pad: int) -> str:
    """`pad` spaces before the closing brace of a JSON object (what the Anthropic API sends)."""
    if not pad:
        return text
    if not text.endswith("}"):
        raise ValueError("only a JSON object can be padded")
    return text[:-1] + " " * pad + "}"


def _describe_block(block: bytes) -> dict:
    """The most readable dict that re-encodes to exactly `block`."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return _verbatim(block)
    for candidate in _candidates(text):
        try:
            if encode_sse_event(candidate) == block:
                return candidate
        except (ValueError, binascii.Error):
            continue
    return {"raw": text}


def _candidates(text: str) -> list[dict]:
    """Structured readings of one event block, most readable first."""
    # str.splitlines() would also split at \x0b, \x1c, U+2028...: SSE does not
    lines = [line.rstrip("\r\n") for line in _TEXT_LINE.findall(text)][:-1]
    event_name: str | None = None
    data_lines: list[str] = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or name not in ("event", "data"):
            return []  # comments, id:, retry:, malformed lines: keep verbatim
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            if event_name is not None or data_lines:
                return []  # not in the canonical order
            event_name = value
        else:
            data_lines.append(value)
    head = {} if event_name is None else {"event": event_name}
    if not data_lines:
        return [head]
    data_text = "\n".join(data_lines)
    readings = []
    parsed = parse_json(data_text)
    if parsed is not NOT_JSON:
        readings.append({**head, "data": parsed})
        if isinstance(parsed, dict) and data_text.endswith(" }"):
            pad = len(data_text) - len(data_text[:-1].rstrip(" ")) - 1
            readings.append({**head, "data": parsed, "pad": pad})
    readings.append({**head, "data_text": data_text})
    return readings


NOT_JSON = object()  # parse_json's "not JSON" (None is the JSON null)


def _reject_constant(name: str) -> Any:
    # NaN/Infinity parse but cannot be re-encoded as standard JSON
    raise ValueError(f"non-standard JSON constant {name}")


def parse_json(text: str) -> Any:
    """The parsed value, or NOT_JSON for anything that is not standard JSON."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return NOT_JSON


def _verbatim(block: bytes) -> dict:
    try:
        return {"raw": block.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw_b64": base64.b64encode(block).decode("ascii")}
