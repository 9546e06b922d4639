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

from botocore.eventstream import EventStreamBuffer
from vcr import serialize as vcr_serialize
from vcr.serializers import yamlserializer

from ccmatrix.bundled import CHECKOUT_DIR

CAPTURES = CHECKOUT_DIR.parent / "shared" / "reference" / "provider-captures"
# OpenAI's and Azure OpenAI's, kept in this project (tests/reference/openai-captures/README.md)
OPENAI_CAPTURES = Path(__file__).parents[1] / "reference" / "openai-captures"


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
            if "data" in lines:  # JSON, or a sentinel as it is (OpenAI's "[DONE]")
                parsed = _maybe_json(lines["data"].encode())
                out.append({"event": lines.get("event"), "data": lines["data"] if parsed is None else parsed})
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


class PydanticAISerializer:
    """vcrpy serializer for pydantic-ai's cassettes: its own serializer keeps JSON bodies
    parsed, as YAML under `parsed_body`; this gives vcrpy the body as JSON text again
    (a response keeps its `parsed_body` too: the bytes are not the wire's)."""

    @staticmethod
    def deserialize(cassette_string: str) -> dict:
        data = yamlserializer.deserialize(cassette_string)
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            # its older layout: `body: {type: json, content: ...}`, the status a number
            for message in (request, response):
                body = message.get("body")
                if isinstance(body, dict) and body.get("type") == "json" and "content" in body:
                    message["parsed_body"] = message.pop("body")["content"]
            if isinstance(response.get("status"), int):
                response["status"] = {"code": response["status"], "message": ""}
            if "parsed_body" in request:
                request["body"] = json.dumps(request.pop("parsed_body"))
            request.setdefault("body", None)
            if "parsed_body" in response:
                response["body"] = {"string": json.dumps(response["parsed_body"])}
        return data


class LangChainSerializer:
    """vcrpy serializer for langchain's cassettes (gzip-compressed YAML, langchain_tests'
    persister): `requests:` and `responses:` side by side instead of `interactions:`."""

    @staticmethod
    def deserialize(cassette_string: str) -> dict:
        data = yamlserializer.deserialize(cassette_string)
        return {"interactions": [{"request": request, "response": response}
                                 for request, response in zip(data["requests"], data["responses"], strict=True)]}


def _load_yaml(path: Path) -> list[Captured]:
    """A VCR cassette, read by vcrpy itself (`vcr.serialize.deserialize`)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        text, serializer = gzip.decompress(raw).decode("utf-8"), LangChainSerializer
    else:
        text, serializer = raw.decode("utf-8"), PydanticAISerializer
    requests, responses = vcr_serialize.deserialize(text, serializer)[:2]
    out = []
    for request, response in zip(requests, responses, strict=True):
        parsed = response.get("parsed_body")
        headers = _headers(response.get("headers"))
        body = b"" if parsed is not None else _text(response["body"]["string"])
        out.append(Captured(path.name, request.method, request.uri, _maybe_json(_text(request.body)),
                            int(response["status"]["code"]), headers.get("content-type", ""), body, parsed, headers))
    return out


def keys(value: Any) -> Any:
    """The key structure of a JSON value, values aside (dicts: their keys, each with its
    own structure; lists: their first element's): what a shape test compares."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


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


def load(relative: str, root: Path = CAPTURES) -> list[Captured]:
    path = root / relative
    if path.suffix in (".yaml", ".gz"):
        return _load_yaml(path)
    return _load_req_llm(path)
