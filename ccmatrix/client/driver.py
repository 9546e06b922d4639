"""The client side: Claude Code's recorded requests, sent to the LiteLLM proxy.

A scenario is what the pinned `claude` CLI sent for one row and one tier,
captured by `ccmatrix capture` (see capture.py) into
`cassettes/clients/<scenario>/<tier>.json`. The driver replays each turn
against the proxy's `/v1/messages` with the cell's model name and hands back
what came back, for the checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccmatrix import catalog
from ccmatrix.cassette import CassetteError, read_document, write_document
from ccmatrix.litellm_config import MASTER_KEY
from ccmatrix.messages import Canonical, from_anthropic_json, from_sse

CLIENT_FORMAT = "ccmatrix-client/1"
# the client headers that carry meaning for the proxy (the rest is transport or per-run)
FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version", "content-type", "x-app")


class ClientTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str = "POST"
    path: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any]


class ClientCapture(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = CLIENT_FORMAT
    scenario: str
    tier: str
    provenance: dict[str, Any]
    turns: list[ClientTurn]


def capture_path(scenario: str, tier: str, root: Path = catalog.DEFAULT_CASSETTE_DIR) -> Path:
    return root / "clients" / scenario / f"{tier}.json"


def load_capture(scenario: str, tier: str, root: Path = catalog.DEFAULT_CASSETTE_DIR) -> ClientCapture:
    path = capture_path(scenario, tier, root)
    data = read_document(path, root)
    try:
        for turn in data.get("turns") or []:
            if isinstance(turn.get("body"), dict) and set(turn["body"]) == {"json"}:
                turn["body"] = turn["body"]["json"]
        capture = ClientCapture.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CassetteError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if not capture.turns:
        raise CassetteError(f"{path}: no turns captured")
    return capture


def save_capture(capture: ClientCapture, root: Path = catalog.DEFAULT_CASSETTE_DIR) -> Path:
    path = capture_path(capture.scenario, capture.tier, root)
    doc = capture.model_dump(mode="json")
    # store bodies under "body": {"json": ...} so the blob store externalizes them
    doc["turns"] = [{**t, "body": {"json": t["body"]}} for t in doc["turns"]]
    write_document(path, doc, root)
    return path


@dataclass
class ClientExchange:
    turn: int
    status: int
    content_type: str
    raw: bytes
    message: Canonical | None  # None when the response was an error

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
    """Send each captured turn to the proxy (`http` has its base URL), as Claude Code
    would, with `model` swapped in."""
    exchanges: list[ClientExchange] = []
    for n, turn in enumerate(capture.turns):
        body = {**turn.body, "model": model} if "model" in turn.body else turn.body
        headers = {k: v for k, v in turn.headers.items() if k in FORWARDED_HEADERS}
        headers["x-api-key"] = MASTER_KEY
        response = http.request(turn.method, turn.path, json=body, headers=headers)
        ctype = response.headers.get("content-type", "")
        message = None
        if response.status_code == 200:
            message = from_sse(response.content) if ctype.startswith("text/event-stream") else from_anthropic_json(response.json())
        exchanges.append(ClientExchange(n, response.status_code, ctype, response.content, message))
        if response.status_code != 200:
            break  # Claude Code stops at an error too
    return exchanges
