"""Record modes: provider requests go on upstream and each exchange is recorded.

emulate sends them to ccmatrix's provider emulator on loopback (started with mitmdump),
live lets mitmproxy forward them to the real provider. A streamed answer passes on chunk
by chunk as it arrives, a copy kept (tee); the exchange is recorded when it completes,
or, for a stream the client gave up on, with what it had sent.
"""

from __future__ import annotations

from mitmproxy import http

from ccmatrix.catalog.faults import stalled_stream
from ccmatrix.providers import auth_cassette_name
from ccmatrix.providers.credentials import CredentialRule
from ccmatrix.recorder.addons.flows import answer_content, failure, hostname, request_seed, tee
from ccmatrix.recorder.addons.state import FlowState, RecorderState, provider_leg
from ccmatrix.recorder.exchanges import FailedExchange, RecordedExchange
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.record import record_response
from ccmatrix.recorder.session import CellSession


def record_exchange(flow: http.HTTPFlow, state: FlowState, mode: Upstream) -> None:
    """Keep one of LiteLLM's upstream exchanges (its answer so far, for a stream still
    open) in its cell's exchanges, as the cassette will hold it."""
    session, request = state.session, state.request
    assert session is not None and request is not None
    # a real provider's stream cuts are kept; the emulator's are ours (one event per write),
    # and timing would make re-recording unchanged traffic rewrite the cassette
    content, reads = answer_content(flow, state, keep_reads=mode.keeps_read_sizes)
    response = record_response(flow.response.status_code, flow.response.headers.items(multi=True), content, reads)
    auth = auth_cassette_name(hostname(flow)) is not None
    session.exchanges.append(RecordedExchange(
        request=request,
        auth=auth,
        chunks=len([c for c in state.chunks if c]) if state.chunks is not None else None,
        response=response,
        violation=state.violation,
        warnings=state.warnings,
        foreign_provider=None if auth else state.foreign_provider,
    ))


class Forward:
    def __init__(self, state: RecorderState) -> None:
        self.state = state
        self.emulator = None  # emulate: ccmatrix.emulator.server.EmulatorServer
        self._attempts_of: CellSession | None = None  # the cell the emulator's attempt counts are for

    def running(self) -> None:
        if self.state.mode.forwards_to_emulator and self.emulator is None:
            from ccmatrix.emulator.server import EmulatorServer

            self.emulator = EmulatorServer()
            self.emulator.start()

    def done(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()

    def request(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.forwards or state is None or flow.response is not None:
            return
        assert state.provider is not None
        rejected = state.contract.rejected
        if self.state.mode.holds_credentials and rejected is not None and isinstance(rejected.rule, CredentialRule):
            # no upstream knows the run's credential modes: the refusal is answered here
            status, headers, body = state.provider.refusal(rejected, request_seed(flow))
            flow.response = http.Response.make(status, body, headers)
        elif self.state.mode.forwards_to_emulator:
            self._to_emulator(flow, state)
        # otherwise (live): mitmproxy forwards to the real host

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.forwards or state is None:
            return
        if tee(flow, state) and stalled_stream(flow.response.headers):
            assert state.session is not None
            state.session.open_streams[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.forwards or state is None or state.session is None:
            return
        state.session.open_streams.pop(flow.id, None)
        if state.session is self.state.session:  # else its cell has ended, and kept what it had sent by then
            record_exchange(flow, state, self.state.mode)

    def error(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.forwards or state is None or state.session is None:
            return
        state.session.open_streams.pop(flow.id, None)
        if state.session is not self.state.session:
            return  # its cell has ended (and kept what the stream had sent by then)
        if flow.response is not None and state.chunks is not None:
            # a stream the client gave up on (Claude Code's idle watchdog on a stalled
            # stream): what came before is kept like any answer, so the verdict sees it
            # and replay can give it again
            record_exchange(flow, state, self.state.mode)
        else:
            state.session.exchanges.append(FailedExchange(error=failure(flow)))

    def _to_emulator(self, flow: http.HTTPFlow, state: FlowState) -> None:
        assert self.emulator is not None
        if state.session is not self._attempts_of:
            # a cell's faults on purpose start from its first attempt
            self.emulator.reset_attempts()
            self._attempts_of = state.session
        original = flow.request.host_header or flow.request.pretty_host
        flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", self.emulator.port
        flow.request.host_header = original  # SigV4 signs Host: keep the provider's
