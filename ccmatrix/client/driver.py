"""The captured-request client: what the CLI sent to LiteLLM when the cassette was
recorded (the cassette's client leg), sent again, request by request, ignoring the
answers. Fast (no CLI process), and exact for the release it was recorded against;
on another release turn 2 is still what the CLI made of the recorded turn 1, where
the CLI client (cli_driver.py) makes it from the new answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Mapping

import httpx

from ccmatrix.cassette import RecordedRequest
from ccmatrix.catalog.faults import IDLE_TIMEOUT_ENV, sdk_retries
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.wire.messages import AssistantMessage, from_anthropic_json, from_sse

__all__ = ["ClientExchange", "captured_outcome", "send_requests"]

# request headers that are transport, auth or the proxy's business, never replayed
_NOT_SENT = frozenset({"host", "content-length", "authorization", "x-api-key", "connection", "accept-encoding",
                       "transfer-encoding", "proxy-connection", "keep-alive"})


@dataclass
class ClientExchange:
    turn: int
    model: str | None  # the model the request named
    main: bool  # one of Claude Code's own turns (main_turn), not a side request
    status: int
    content_type: str
    raw: bytes
    message: AssistantMessage | None  # None when the response was an error
    headers: dict[str, str] = field(default_factory=dict)
    # a later request sent is this one again: Claude Code retried it when it was recorded
    retried: bool = False

    @property
    def retryable_failure(self) -> bool:
        """A failed answer Claude Code retries (a status the SDK retries, a stream that
        failed after it started): when it was retried, it did not stop Claude Code."""
        if self.status == 0:
            return True  # no answer within the bound: the SDK retries a time-out
        if self.status != 200:
            return sdk_retries(self.status, self.headers)
        # only a stream can fail after it started (a JSON message has no message_stop to miss)
        return self.content_type.startswith("text/event-stream") and self.message is not None and (
            self.message.stream_error is not None or not self.message.stopped)

    @property
    def error_text(self) -> str:
        text = self.raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
            err = body.get("error", body)
            text = err.get("message", text) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        return f"{self.status} {text.strip()[:2000]}"


def send_requests(http: httpx.Client, requests: list[RecordedRequest], model: str,
                  idle_timeout: float | None = None) -> list[ClientExchange]:
    """Each recorded client request, to the proxy (`http` carries its URL and key).

    With `idle_timeout`, a streamed answer is read as Claude Code's byte-level watchdog
    reads it: when no byte comes for that long, the client gives up on the stream (what
    came is kept: a stream that did not stop) and goes on, as the CLI retries."""
    exchanges: list[ClientExchange] = []
    for n, request in enumerate(requests):
        body = request.body.value() if request.body is not None else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_SENT}
        streamed = isinstance(body, dict) and body.get("stream") is True
        if idle_timeout and streamed:
            status, response_headers, raw = _read_watched(http, request, body, headers, idle_timeout)
        else:
            response = http.request(request.method, request.url, json=body, headers=headers)
            status, response_headers, raw = response.status_code, response.headers, response.content
        ctype = response_headers.get("content-type", "")
        message = None
        if status == 200:
            message = from_sse(raw) if ctype.startswith("text/event-stream") else from_anthropic_json(json.loads(raw))
        named = body.get("model") if isinstance(body, dict) else None
        # asked again later: not always next, as Claude Code sends its session-title request
        # beside its first turn (2.1.228), and their retries interleave
        later = [r.body.value() for r in requests[n + 1:] if r.body is not None]
        exchanges.append(ClientExchange(n, named, main_turn(body, model), status, ctype, raw, message,
                                        dict(response_headers), retried=any(_same_turn(body, b) for b in later)))
    return exchanges


def stream_idle_timeout(cli_env: Mapping[str, str]) -> float | None:
    """The byte-level stream watchdog a row sets for the CLI (IDLE_TIMEOUT_ENV, in ms, clamped
    to the CLI's 10 s floor), in seconds; None when the row leaves it at its default."""
    value = cli_env.get(IDLE_TIMEOUT_ENV)
    return max(int(value), 10_000) / 1000 if value else None


def _read_watched(http: httpx.Client, request: RecordedRequest, body: object, headers: dict[str, str],
                  idle: float) -> tuple[int, httpx.Headers, bytes]:
    """A streamed answer read under an idle bound (each read, the headers' too, waits at
    most `idle`) and the client's request bound; a stream that goes quiet (or does not
    end) is given up on, its connection closed."""
    raw = bytearray()
    timeout = httpx.Timeout(http.timeout.connect, read=idle, write=http.timeout.write, pool=http.timeout.pool)
    try:
        with http.stream(request.method, request.url, json=body, headers=headers, timeout=timeout) as response:
            bound = http.timeout.read  # the client's own bound on a request, if it has one
            deadline = time.monotonic() + bound if bound else None
            try:
                for data in response.iter_bytes():
                    raw += data
                    if deadline is not None and time.monotonic() > deadline:
                        break  # bytes keep coming but the answer does not end: bounded all the same
            except httpx.ReadTimeout:
                pass  # gave up on a quiet stream: closing the response closes its connection
            return response.status_code, response.headers, bytes(raw)
    except httpx.ReadTimeout:  # no answer at all within the bound
        return 0, httpx.Headers(), b""


def _same_turn(body: object, following: object) -> bool:
    """`following` asks for the same turn again: the same body, streamed or not (after a
    stream that failed mid-way, Claude Code asks again without streaming: measured, 2.1.126)."""
    if not isinstance(body, dict) or not isinstance(following, dict):
        return False
    return {k: v for k, v in body.items() if k != "stream"} == {k: v for k, v in following.items() if k != "stream"}


def main_turn(body: object, model: str) -> bool:
    """One of Claude Code's own turns: it names the cell's model and offers the client's
    tools (or none). Side requests are the rest: the session title (`session_title`) and
    a tool's own request (WebSearch's carries only the server tool); the CLI shows none
    of their content and does not stop when they fail (measured: the CLI exits 0 when
    LiteLLM refuses the WebSearch request)."""
    if not isinstance(body, dict) or body.get("model") != model or session_title(body):
        return False
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    return not tools or any(t.get("type") in (None, "custom") for t in tools)


def session_title(body: object) -> bool:
    """Claude Code's session-title request: a JSON answer asked for (`output_config.format`)
    and no tools offered. 2.1.126 sends it to its own small model, another than the
    cell's; 2.1.228 sends it on the cell's model, beside its first turn
    (docs/claude-code-versions.md); 2.1.332 does not send it."""
    return (isinstance(body, dict) and isinstance(body.get("output_config"), dict)
            and bool(body["output_config"].get("format")) and not body.get("tools"))


def captured_outcome(exchanges: list[ClientExchange], model: str) -> ClientOutcome:
    """What Claude Code would have read in these answers (its own turns only, see
    main_turn): a failed turn of its own stops it."""
    outcome = ClientOutcome(client="captured", detail={"statuses": [ex.status for ex in exchanges]})
    for ex in exchanges:
        if not ex.main or (ex.retried and ex.retryable_failure):
            continue  # a side request, or an answer Claude Code retried past
        if ex.status != 200:
            outcome.failure = outcome.failure or f"Claude Code stops: API Error: {ex.error_text}"
            continue
        message = ex.message
        if message is None:
            continue
        for error in message.client_errors:
            outcome.failure = outcome.failure or f"Claude Code stops: API Error: {error}"
        outcome.blocks += message.content
        outcome.text += message.text
        if message.raw_usage:
            outcome.usage = dict(message.raw_usage)
        if ex.content_type.startswith("text/event-stream"):
            outcome.stream_events += message.event_count
            outcome.input_json_deltas += message.input_json_deltas
    structured = [b for b in outcome.blocks_of("tool_use") if b.get("name") == "StructuredOutput"]
    if structured:
        outcome.structured_output = structured[-1].get("input")
    return outcome
