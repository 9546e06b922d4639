"""Turning wire traffic into cassette records: redacted, bodies parsed, streams decoded."""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Iterable

from ccmatrix.cassette import Body, RecordedRequest, RecordedResponse, Stream
from ccmatrix.cassette.redact import normalize_body, normalize_client_body, redact_headers, redact_json, redact_url
from ccmatrix.recorder import chunking

# Not worth storing: derivable from the body or the connection.
_DROP_REQUEST_HEADERS = frozenset({"host", "content-length", "connection", "proxy-connection", "keep-alive"})
_DROP_RESPONSE_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive", "date"}
)
SSE = "text/event-stream"
EVENTSTREAM = "application/vnd.amazon.eventstream"


def _headers(pairs: Iterable[tuple[str, str]], drop: frozenset[str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in drop:
            continue
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return redact_headers(merged)


def _redact_body(body: Body | None) -> Body | None:
    if body is None:
        return None
    if body.json_ is not None:
        return Body(json_=redact_json(body.json_))
    if body.form is not None:
        return Body(form=redact_json(body.form))
    if body.text is not None:
        return Body(text=redact_json(body.text))
    return body


_BASE64 = re.compile(r"^[A-Za-z0-9+/]{64,}={0,2}$")
BASE64_JSON_KEY = "$base64_json"


def decode_embedded_json(value: Any) -> Any:
    """Bedrock's CountTokens carries the whole Messages body as base64 JSON: store it
    decoded, so it is reviewed, diffed field by field and shares blobs."""
    if isinstance(value, dict):
        return {k: decode_embedded_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_embedded_json(v) for v in value]
    if isinstance(value, str) and _BASE64.match(value):
        try:
            decoded = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
        except ValueError:
            return value
        if isinstance(decoded, dict):
            return {BASE64_JSON_KEY: decode_embedded_json(decoded)}
    return value


def record_request(method: str, url: str, headers: Iterable[tuple[str, str]], content: bytes,
                   client_leg: bool = False) -> RecordedRequest:
    """A request as a cassette keeps it: redacted, its per-run values replaced
    (cassette.redact.normalize_body), so a replay on another day or machine matches and
    a re-record of unchanged traffic rewrites nothing. The client leg is sent again as
    it is stored, so it keeps what LiteLLM acts on (normalize_client_body)."""
    hdrs = _headers(headers, _DROP_REQUEST_HEADERS)
    body = Body.from_bytes(content, hdrs.get("content-type", ""))
    if body is not None and body.json_ is not None:
        value = normalize_client_body(body.json_) if client_leg else normalize_body(decode_embedded_json(body.json_))
        return RecordedRequest(method=method.upper(), url=redact_url(url), headers=hdrs, body=Body(json_=value))
    return RecordedRequest(method=method.upper(), url=redact_url(url), headers=hdrs, body=_redact_body(body))


def content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def is_stream(ctype: str) -> bool:
    return ctype in (SSE, EVENTSTREAM)


def record_response(status: int, headers: Iterable[tuple[str, str]], content: bytes,
                    reads: list[int] | None = None) -> RecordedResponse:
    """`content` is the decoded (no content-encoding) response body; `reads` the
    lengths of the network reads it arrived in, when they are known."""
    from ccmatrix.wire import eventstream, sse

    hdrs = _headers(headers, _DROP_RESPONSE_HEADERS)
    ctype = content_type(hdrs)
    if ctype in (SSE, EVENTSTREAM):
        fmt = "sse" if ctype == SSE else "aws-eventstream"
        events = sse.decode_sse(content) if fmt == "sse" else eventstream.decode_eventstream(content)
        boundaries = None
        if reads is not None:
            # measured on the events as they arrived, before redaction changes any length
            lengths = [len(piece) for piece in chunking.event_bytes(Stream(format=fmt, events=events))]
            boundaries = chunking.boundaries_of_reads(reads, lengths)
        return RecordedResponse(status=status, headers=hdrs,
                                stream=Stream(format=fmt, events=redact_json(events), boundaries=boundaries))
    return RecordedResponse(status=status, headers=hdrs, body=_redact_body(Body.from_bytes(content, ctype)))


def url_host(url: str) -> str:
    """The host of a recorded request's URL (no port): what says which provider, or which
    token endpoint, it was for."""
    return url.split("/")[2].split(":")[0]
