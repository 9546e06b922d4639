"""The captured-request client: what the CLI sent to LiteLLM when the cassette was
recorded (the cassette's client leg), sent again, request by request, ignoring the
answers. Fast (no CLI process), and exact for the release it was recorded against;
on another release turn 2 is still what the CLI made of the recorded turn 1, where
the CLI client (cli_driver.py) makes it from the new answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

from ccmatrix.cassette import RecordedRequest
from ccmatrix.catalog.faults import sdk_retries
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
    # the next request sent is this one again: Claude Code retried it when it was recorded
    retried: bool = False

    @property
    def retryable_failure(self) -> bool:
        """A failed answer Claude Code retries (a status the SDK retries, a stream that
        failed after it started): when it was retried, it did not stop Claude Code."""
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


def send_requests(http: httpx.Client, requests: list[RecordedRequest], model: str) -> list[ClientExchange]:
    """Each recorded client request, to the proxy (`http` carries its URL and key)."""
    exchanges: list[ClientExchange] = []
    for n, request in enumerate(requests):
        body = request.body.value() if request.body is not None else None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_SENT}
        response = http.request(request.method, request.url, json=body, headers=headers)
        ctype = response.headers.get("content-type", "")
        message = None
        if response.status_code == 200:
            message = from_sse(response.content) if ctype.startswith("text/event-stream") \
                else from_anthropic_json(response.json())
        named = body.get("model") if isinstance(body, dict) else None
        following = requests[n + 1].body.value() if n + 1 < len(requests) and requests[n + 1].body else None
        exchanges.append(ClientExchange(n, named, main_turn(body, model), response.status_code, ctype,
                                        response.content, message, dict(response.headers),
                                        retried=_same_turn(body, following)))
    return exchanges


def _same_turn(body: object, following: object) -> bool:
    """`following` asks for the same turn again: the same body, streamed or not (after a
    stream that failed mid-way, Claude Code asks again without streaming: measured, 2.1.126)."""
    if not isinstance(body, dict) or not isinstance(following, dict):
        return False
    return {k: v for k, v in body.items() if k != "stream"} == {k: v for k, v in following.items() if k != "stream"}


def main_turn(body: object, model: str) -> bool:
    """One of Claude Code's own turns: it names the cell's model and offers the client's
    tools (or none). Side requests are the rest: the session title (another model) and a
    tool's own request (WebSearch's carries only the server tool); the CLI shows none of
    their content and does not stop when they fail (measured: the CLI exits 0 when
    LiteLLM refuses the WebSearch request)."""
    if not isinstance(body, dict) or body.get("model") != model:
        return False
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    return not tools or any(t.get("type") in (None, "custom") for t in tools)


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
