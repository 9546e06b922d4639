"""Read the real provider recordings in ../shared/reference/provider-captures/ (made by
other projects against the live services) into requests and decoded answers.

Reference data for shape tests only: nothing here is ever written into cassettes/.
Their encodings are described in the captures' own README.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.eventstream import EventStreamBuffer

from ccmatrix.bundled import CHECKOUT_DIR

CAPTURES = CHECKOUT_DIR.parent / "shared" / "reference" / "provider-captures"


@dataclass
class Captured:
    """One recorded exchange: the request as sent, and the answer decoded."""

    source: str
    method: str
    url: str
    request_body: Any
    status: int
    content_type: str
    body: bytes  # the raw response body, where the recording kept it ("" when only parsed)
    parsed: Any = None  # a recorder's parsed JSON body (key order and spacing are not evidence)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def sse(self) -> list[dict]:
        """(event, data) of an SSE answer, data parsed."""
        out = []
        for block in self.body.decode("utf-8").split("\n\n"):
            lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
            if "data" in lines:
                out.append({"event": lines.get("event"), "data": json.loads(lines["data"])})
        return out

    @property
    def frames(self) -> list[tuple[dict[str, Any], Any]]:
        """(headers, payload JSON) of an AWS event-stream answer."""
        buffer = EventStreamBuffer()
        buffer.add_data(self.body)
        return [(dict(m.headers), json.loads(m.payload) if m.payload else None) for m in buffer]


def _text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return (value or "").encode("utf-8")


def _headers(raw: Any) -> dict[str, str]:
    out = {}
    for key, value in (raw or {}).items():
        value = value[0] if isinstance(value, list) and value else value
        out[key.lower()] = value.decode() if isinstance(value, bytes) else str(value)
    return out


def _vcr_body(message: dict) -> tuple[bytes, Any]:
    """(raw body, parsed body) of a vcrpy request or response (pydantic-ai keeps JSON parsed)."""
    if "parsed_body" in message:
        return b"", message["parsed_body"]
    body = message.get("body")
    if isinstance(body, dict):
        return _text(body.get("string")), None
    return _text(body), None


def _load_yaml(path: Path) -> list[Captured]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    doc = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out = []
    if "interactions" in doc:  # vcrpy
        for item in doc["interactions"]:
            req, res = item["request"], item["response"]
            body, parsed = _vcr_body(res)
            req_body, req_parsed = _vcr_body(req)
            headers = _headers(res.get("headers"))
            out.append(Captured(path.name, req["method"], req["uri"], req_parsed if req_parsed is not None else
                                _maybe_json(req_body), int(res["status"]["code"]), headers.get("content-type", ""),
                                body, parsed, headers))
    else:  # the older requests:/responses: layout
        for req, res in zip(doc["requests"], doc["responses"]):
            body, _ = _vcr_body(res)
            req_body, _ = _vcr_body(req)
            headers = _headers(res.get("headers"))
            out.append(Captured(path.name, req["method"], req["uri"], _maybe_json(req_body),
                                int(res["status"]["code"]), headers.get("content-type", ""), body, None, headers))
    return out


def _maybe_json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _load_req_llm(path: Path) -> list[Captured]:
    doc = json.loads(path.read_text())
    req, res = doc["request"], doc["response"]
    body = b"".join(base64.b64decode(c["b64"]) for c in doc.get("chunks") or [])
    request_body = req.get("body")
    if isinstance(request_body, dict) and "b64" in request_body:
        request_body = _maybe_json(base64.b64decode(request_body["b64"]))
    headers = _headers(res.get("headers"))
    return [Captured(path.name, req.get("method", "POST").upper(), req.get("url", ""), request_body,
                     int(res.get("status", 200)), headers.get("content-type", ""), body,
                     None if body else res.get("body"), headers)]


def load(relative: str) -> list[Captured]:
    path = CAPTURES / relative
    if path.suffix in (".yaml", ".gz"):
        return _load_yaml(path)
    return _load_req_llm(path)
