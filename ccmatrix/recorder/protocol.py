"""The control channel between the driver (ccmatrix.proxy.stack) and the recorder addon.

The driver reaches the addon through mitmdump itself, as plain HTTP to a reserved
host. Both ends build and read these models, so a renamed field fails loudly on
either side instead of being guessed at:

mitmdump listens twice: as LiteLLM's HTTPS proxy (the provider leg) and as a
reverse proxy in front of LiteLLM (the client leg: the CLI's ANTHROPIC_BASE_URL).

    GET  /health                      -> Health
    POST /cell/begin  BeginCell       -> Ok
    POST /cell/end                    -> CellEnd (every upstream exchange the cell tier caused)
    POST /cell/write  WriteCell       -> Written (record modes: the cassette, with its verdict)
    any failure                       -> ErrorReply, status 404 (path) or 409 (state, input)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.cassette.models import RecordedRequest, RecordedResponse, RecordedVerdict

CONTROL_HOST = "ccmatrix.control"
Upstream = Literal["replay", "emulate", "live"]
UPSTREAMS: tuple[str, ...] = ("replay", "emulate", "live")


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_serializer("request", "response", check_fields=False)
    def _compact(self, value: Any) -> Any:
        # as in a cassette: aliases ("json"), no empty representations
        return value.model_dump(mode="json", by_alias=True, exclude_none=True) if value is not None else None


class Health(_Message):
    ok: bool = True
    upstream: Upstream
    version: str


Chunking = Literal["coalesced", "recorded", "events", "mid-event", "mid-char"]  # ccmatrix.recorder.chunking


class BeginCell(_Message):
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


class Ok(_Message):
    ok: bool = True


class WriteCell(_Message):
    verdict: RecordedVerdict | None = None
    provenance: dict[str, Any] = Field(default_factory=dict)  # known only once the client ran (its command)


class Written(_Message):
    cassette: str


class ErrorReply(_Message):
    error: str


class ContractNote(_Message):
    """What the cell's provider contract made of the request (ccmatrix/providers/contract.py)."""

    rule: str
    message: str
    evidence: list[str] = Field(default_factory=list)
    action: Literal["reject", "warn"] = "reject"


class ReplayedExchange(_Message):
    """Replay: a request answered from the cassette, answered by the emulator because
    the cassette has no counterpart for it (`changed`), or refused for matching none."""

    request: RecordedRequest
    auth: bool  # a run-wide token exchange, not the cell tier's own traffic
    served: int | None  # the interaction that answered; None: no recording matched
    closest: int | None
    diffs: list[FieldDiff]
    mismatch: str | None  # why nothing matched, as the client was told
    # why the emulator answered instead of a recording: "new route" (no recording on
    # this method, host and path), "new conversation" (none on the route with this
    # first user message) or "new turn" (more messages than any recording of the
    # conversation); the cassette needs re-recording, nothing was lost
    changed: str | None = None
    response: RecordedResponse | None = None  # the emulator's answer, when changed
    writes: int | None = None  # how many writes delivered a streamed answer (its chunking)
    # a rule of the provider's contract the request breaks (answered with the provider's
    # error), and rules with thin evidence it trips (warnings only)
    violation: ContractNote | None = None
    warnings: list[ContractNote] = Field(default_factory=list)
    foreign_provider: str | None = None  # the request went to this provider, not the cell's


class RecordedExchange(_Message):
    """Record (emulate, live): a request that went upstream, and its answer."""

    request: RecordedRequest
    auth: bool
    chunks: int | None  # how the response passed through: streamed in N chunks, or whole (None)
    response: RecordedResponse
    violation: ContractNote | None = None  # what the contract says the provider should have rejected
    warnings: list[ContractNote] = Field(default_factory=list)
    foreign_provider: str | None = None  # the request went to this provider, not the cell's


class RefusedExchange(_Message):
    """A request to a host that is not the cell's provider's (fail closed)."""

    refused: str


class FailedExchange(_Message):
    """A request mitmproxy could not complete (connection error, time-out)."""

    error: str


Exchange = Annotated[
    Union[ReplayedExchange, RecordedExchange, RefusedExchange, FailedExchange],
    Field(union_mode="left_to_right"),  # extra="forbid" makes exactly one fit
]


class ClientLegExchange(_Message):
    """The client leg: a request the client (the Claude Code CLI, the captured-request
    driver, a probe) sent to LiteLLM through mitmdump's reverse-proxy port, and LiteLLM's
    answer (None when the connection failed)."""

    request: RecordedRequest
    response: RecordedResponse | None = None
    error: str | None = None


class CellEnd(_Message):
    cell: str
    exchanges: list[Exchange]  # the provider leg: LiteLLM's upstream requests
    client: list[ClientLegExchange] = Field(default_factory=list)
    # upstream streams LiteLLM still held open when the cell ended ("METHOD URL"): the
    # client had gone (a stream it gave up on), the provider's connection had not
    left_open: list[str] = Field(default_factory=list)
