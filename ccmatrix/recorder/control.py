"""The control channel between the driver (ccmatrix.proxy) and the recorder addons.

The driver reaches the addons through mitmdump itself, as plain HTTP to a reserved
host (ccmatrix.recorder.addons.control_channel answers it):

    GET  /health                      -> Health
    POST /cell/begin  BeginCell       -> Ok
    POST /cell/end                    -> CellEnd (exchanges.py: everything the cell tier caused)
    any failure                       -> ErrorReply, status 404 (path) or 409 (state, input)

The addons never write a cassette for a driver: CellEnd carries what the driver
needs to write it (ccmatrix.recorder.write), once it has judged the cell.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ccmatrix.recorder.message import Message
from ccmatrix.recorder.mode import Upstream

CONTROL_HOST = "ccmatrix.control"

Chunking = Literal["coalesced", "recorded", "events", "mid-event", "mid-char"]  # ccmatrix.recorder.chunking


class Health(Message):
    ok: bool = True
    upstream: Upstream
    version: str


class BeginCell(Message):
    cell: str  # a cell tier id: feature/provider/tier
    claude_code: str  # the Claude Code release whose cassette tree holds the cell's cassette
    # the client is Claude Code talking to the provider itself: what is recorded is the
    # cell tier's native reference (requests only), not a cassette
    native: bool = False
    provenance: dict[str, Any] = Field(default_factory=dict)
    chunking: Chunking = "coalesced"  # replay: how streamed answers are cut into writes
    # each provider's credential mode, as providers.CredentialChoice encodes it (empty: the
    # live harness's modes): every upstream request of the cell is held to its provider's
    credentials: str = ""
    # the cassette directory this cell's cassettes are replayed from (None: mitmdump's
    # ccmatrix_cassettes), so one mitmdump can serve cells of several cassette trees
    root: str | None = None


class Ok(Message):
    ok: bool = True


class ErrorReply(Message):
    error: str
