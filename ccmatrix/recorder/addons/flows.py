"""Small things every addon does with a mitmproxy flow: say where it goes, answer it,
tee its stream, read its answer back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mitmproxy import http
from pydantic import BaseModel

from ccmatrix.recorder.addons.state import FlowState
from ccmatrix.recorder.record import content_type, is_stream


def hostname(flow: http.HTTPFlow) -> str:
    """The host the request is for (the provider's, also when forwarded to the emulator)."""
    return (flow.request.host_header or flow.request.pretty_host).split(":")[0]


def is_client_leg(flow: http.HTTPFlow) -> bool:
    """A flow that came in on the reverse-proxy port: a client talking to LiteLLM."""
    mode = getattr(flow.client_conn, "proxy_mode", None)
    return getattr(mode, "type_name", "") == "reverse"


def request_seed(flow: http.HTTPFlow) -> str:
    """What the emulator derives ids from: the body's hash."""
    return hashlib.sha256(flow.request.content or b"").hexdigest()


def json_response(status: int, message: BaseModel | dict[str, Any]) -> http.Response:
    body = message.model_dump_json() if isinstance(message, BaseModel) else json.dumps(message)
    return http.Response.make(status, body.encode(), {"content-type": "application/json"})


def failure(flow: http.HTTPFlow) -> str:
    """A flow that did not complete, as a FailedExchange says it."""
    return f"{flow.request.method} {flow.request.pretty_url}: {flow.error}"


def tee(flow: http.HTTPFlow, state: FlowState) -> bool:
    """A streamed answer is passed on chunk by chunk as it arrives, a copy of each kept
    in `state.chunks`; whether the answer is a stream."""
    if not is_stream(content_type({k.lower(): v for k, v in flow.response.headers.items()})):
        return False
    chunks: list[bytes] = []
    state.chunks = chunks

    def keep(data: bytes) -> bytes:
        chunks.append(data)
        return data

    flow.response.stream = keep
    return True


def answer_content(flow: http.HTTPFlow, state: FlowState, keep_reads: bool = False) -> tuple[bytes, list[int] | None]:
    """The answer's body as it came (a stream's tee'd chunks, decoded), and with
    `keep_reads`, a plain stream's read sizes: where a real provider's stream was cut (the
    `recorded` chunking replays it). Not from an encoded body: those cuts say nothing
    about the events."""
    if state.chunks is None:
        return flow.response.content or b"", None
    content = b"".join(state.chunks)
    if flow.response.headers.get("content-encoding"):
        from mitmproxy.net import encoding

        return encoding.decode(content, flow.response.headers["content-encoding"]), None
    return content, ([len(c) for c in state.chunks if c] if keep_reads else None)
