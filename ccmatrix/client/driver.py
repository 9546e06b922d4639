"""The captured-request driver: Claude Code's recorded turns, sent to the LiteLLM proxy.

Each turn of a client capture goes to the proxy's `/v1/messages` (or
count_tokens) with the cell's model name swapped in, as Claude Code would send
it; what came back is handed to the checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from ccmatrix.client.capture_format import CLIENT_HEADERS, ClientCapture
from ccmatrix.wire.messages import AssistantMessage, from_anthropic_json, from_sse


@dataclass
class ClientExchange:
    turn: int
    status: int
    content_type: str
    raw: bytes
    message: AssistantMessage | None  # None when the response was an error

    @property
    def error_text(self) -> str:
        text = self.raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
            err = body.get("error", body)
            text = err.get("message", text) if isinstance(err, dict) else str(err)
        except (ValueError, AttributeError):
            pass
        return f"status={self.status}; {text.strip()[:2000]}"


def send_turns(http: httpx.Client, capture: ClientCapture, model: str) -> list[ClientExchange]:
    """Send each captured turn to the proxy, as Claude Code would, with `model` swapped in.

    `http` carries the proxy's base URL and its key (see Stack.http)."""
    exchanges: list[ClientExchange] = []
    for n, turn in enumerate(capture.turns):
        body = {**turn.body, "model": model} if "model" in turn.body else turn.body
        headers = {k: v for k, v in turn.headers.items() if k in CLIENT_HEADERS}
        response = http.request(turn.method, turn.path, json=body, headers=headers)
        ctype = response.headers.get("content-type", "")
        message = None
        if response.status_code == 200:
            message = from_sse(response.content) if ctype.startswith("text/event-stream") else from_anthropic_json(response.json())
        exchanges.append(ClientExchange(n, response.status_code, ctype, response.content, message))
        if response.status_code != 200:
            break  # Claude Code stops at an error too
    return exchanges
