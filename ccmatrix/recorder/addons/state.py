"""What the addons share: the run's settings and the cell in progress (RecorderState,
one object handed to each addon by the entry script), and what they learn about one
flow from hook to hook (FlowState, under one key of the flow's metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mitmproxy import http

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.cassette import RecordedRequest
from ccmatrix.providers import Provider
from ccmatrix.providers.contract import Verdict, Violation
from ccmatrix.recorder.exchanges import ContractNote
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.session import CellSession


@dataclass
class RecorderState:
    mode: Upstream = Upstream.REPLAY  # ccmatrix_upstream, as the control channel parsed it
    root: Path = DEFAULT_CASSETTE_DIR  # ccmatrix_cassettes: the cassette tree unless a cell names its own
    session: CellSession | None = None  # the cell tier in progress; only the control channel changes it


def _note(violation: Violation) -> ContractNote:
    rule = violation.rule
    return ContractNote(rule=rule.id, message=violation.message, evidence=list(rule.evidence), action=rule.action)


@dataclass
class FlowState:
    """One flow, as the addon that took it in (the client-leg tap, or the provider gate)
    left it for the others. Exactly one of `client_request` and `request` is set."""

    KEY = "ccmatrix"  # its key in flow.metadata

    # the client leg: what the client sent LiteLLM
    client_request: RecordedRequest | None = None
    # the provider leg: the cell it came in, the provider it is for, the request as
    # recorded, and what that provider's contract (and the run's credential mode) makes of it
    session: CellSession | None = None
    provider: Provider | None = None
    request: RecordedRequest | None = None
    contract: Verdict = field(default_factory=Verdict)
    # either leg: a streamed answer's pieces as they passed (None: not streamed)
    chunks: list[bytes] | None = None
    # replay: the token under which the delivery server holds the flow's answer
    delivery: str | None = None

    @classmethod
    def of(cls, flow: http.HTTPFlow) -> "FlowState | None":
        return flow.metadata.get(cls.KEY)

    def attach(self, flow: http.HTTPFlow) -> "FlowState":
        flow.metadata[self.KEY] = self
        return self

    @property
    def violation(self) -> ContractNote | None:
        return _note(self.contract.rejected) if self.contract.rejected is not None else None

    @property
    def warnings(self) -> list[ContractNote]:
        return [_note(w) for w in self.contract.warnings]

    @property
    def foreign_provider(self) -> str | None:
        """The provider's id when it is not the cell's own."""
        assert self.session is not None and self.provider is not None
        return self.provider.id if self.provider is not self.session.cell.provider else None


def provider_leg(flow: http.HTTPFlow) -> FlowState | None:
    """The flow's state when it is a provider request the gate let in, else None."""
    state = FlowState.of(flow)
    return state if state is not None and state.request is not None else None


def client_leg(flow: http.HTTPFlow) -> FlowState | None:
    """The flow's state when it is a client-leg request, else None."""
    state = FlowState.of(flow)
    return state if state is not None and state.client_request is not None else None
