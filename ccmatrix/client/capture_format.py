"""The client capture format: what the pinned `claude` CLI sent for one scenario and tier.

`ccmatrix capture` (capture.py) writes `cassettes/clients/<scenario>/<tier>.json`;
the driver (driver.py) replays its turns against the proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.cassette import CassetteError, read_document, write_document
from ccmatrix.catalog.layout import client_capture_path

CLIENT_FORMAT = "ccmatrix-client/1"
# the client headers that carry meaning for the proxy: kept in a capture, sent on
# replay (the rest is transport, auth or per-run)
CLIENT_HEADERS = ("anthropic-beta", "anthropic-version", "content-type", "x-app")


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


def load_capture(scenario: str, tier: str, root: Path = DEFAULT_CASSETTE_DIR) -> ClientCapture:
    path = client_capture_path(root, scenario, tier)
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


def save_capture(capture: ClientCapture, root: Path = DEFAULT_CASSETTE_DIR) -> Path:
    path = client_capture_path(root, capture.scenario, capture.tier)
    doc = capture.model_dump(mode="json")
    # store bodies under "body": {"json": ...} so the blob store externalizes them
    doc["turns"] = [{**t, "body": {"json": t["body"]}} for t in doc["turns"]]
    write_document(path, doc, root)
    return path
