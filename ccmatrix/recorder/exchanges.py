"""What a cell tier caused, as the addons report it at /cell/end (CellEnd): the
exchanges the verdict judges, and what the driver writes the cassette from
(ccmatrix.recorder.write).

mitmdump listens twice: as LiteLLM's HTTPS proxy (the provider leg: `exchanges`) and
as a reverse proxy in front of LiteLLM (the client leg: `client`, what the client sent
LiteLLM and LiteLLM's answer).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.cassette.models import RecordedRequest, RecordedResponse
from ccmatrix.recorder.message import Message


class ContractNote(Message):
    """What the cell's provider contract made of the request (ccmatrix/providers/contract.py)."""

    rule: str
    message: str
    evidence: list[str] = Field(default_factory=list)
    action: Literal["reject", "warn"] = "reject"


class ReplayedExchange(Message):
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


class RecordedExchange(Message):
    """Record (emulate, live): a request that went upstream, and its answer. `request`
    and `response` are the cassette's interaction as written (a token endpoint's, `auth`,
    goes to its run-wide auth cassette)."""

    request: RecordedRequest
    auth: bool
    chunks: int | None  # how the response passed through: streamed in N chunks, or whole (None)
    response: RecordedResponse
    violation: ContractNote | None = None  # what the contract says the provider should have rejected
    warnings: list[ContractNote] = Field(default_factory=list)
    foreign_provider: str | None = None  # the request went to this provider, not the cell's


class RefusedExchange(Message):
    """A request to a host that is not the cell's provider's (fail closed)."""

    refused: str


class FailedExchange(Message):
    """A request mitmproxy could not complete (connection error, time-out)."""

    error: str


Exchange = Annotated[
    Union[ReplayedExchange, RecordedExchange, RefusedExchange, FailedExchange],
    Field(union_mode="left_to_right"),  # extra="forbid" makes exactly one fit
]


class ClientLegExchange(Message):
    """The client leg: a request the client (the Claude Code CLI, the captured-request
    driver, a probe) sent to LiteLLM through mitmdump's reverse-proxy port, and LiteLLM's
    answer (None when the connection failed)."""

    request: RecordedRequest
    response: RecordedResponse | None = None
    error: str | None = None


class CellEnd(Message):
    cell: str
    exchanges: list[Exchange]  # the provider leg: LiteLLM's upstream requests
    client: list[ClientLegExchange] = Field(default_factory=list)
    # upstream streams LiteLLM still held open when the cell ended ("METHOD URL"): the
    # client had gone (a stream it gave up on), the provider's connection had not
    left_open: list[str] = Field(default_factory=list)
