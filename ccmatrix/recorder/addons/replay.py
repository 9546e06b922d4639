"""Replay: provider requests answered from the cassettes, never forwarded.

A request gets its recording (vcrpy-style, each recording once first), the provider's
own refusal when the request breaks its contract (a recording is no licence), the
emulator's answer when nothing recorded stands for it (the tier is `changed`), or an
error in the provider's shape naming the field-level differences. The answer is
delivered under the cell's chunking: coalesced, in one write from here; otherwise
through the loopback delivery server (ccmatrix.recorder.delivery), which writes each
piece apart so LiteLLM's reads see the cuts.
"""

from __future__ import annotations

from pathlib import Path

from mitmproxy import http

from ccmatrix.cassette import RecordedResponse
from ccmatrix.catalog import layout
from ccmatrix.catalog.faults import stalled_stream
from ccmatrix.emulator.exchange import EmulatedResponse
from ccmatrix.providers import auth_cassette_name
from ccmatrix.recorder import chunking
from ccmatrix.recorder.addons.flows import failure, request_seed
from ccmatrix.recorder.addons.state import FlowState, RecorderState, provider_leg
from ccmatrix.recorder.delivery import DeliveryServer
from ccmatrix.recorder.exchanges import FailedExchange, ReplayedExchange
from ccmatrix.recorder.match import match, mismatch_answer
from ccmatrix.recorder.record import record_response, url_host
from ccmatrix.recorder.session import Recording


class Replay:
    def __init__(self, state: RecorderState) -> None:
        self.state = state
        self.delivery: DeliveryServer | None = None  # started for the first chunking other than coalesced
        self.auth: dict[Path, Recording] = {}  # the auth cassettes, by path (cells may name their own tree)

    def done(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()

    def request(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.answers_from_cassettes or state is None or flow.response is not None:
            return
        response, exchange = self._answer(flow, state)
        self._deliver(flow, state, response, exchange)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if state is None or state.delivery is None:
            return
        flow.response.stream = True  # keep the delivery server's writes apart
        if stalled_stream(flow.response.headers):
            assert state.session is not None
            state.session.open_streams[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if self.state.mode.answers_from_cassettes and state is not None and state.session is not None:
            state.session.open_streams.pop(flow.id, None)

    def error(self, flow: http.HTTPFlow) -> None:
        state = provider_leg(flow)
        if not self.state.mode.answers_from_cassettes or state is None or state.session is None:
            return
        state.session.open_streams.pop(flow.id, None)
        if state.session is not self.state.session:
            return  # a stream left open past its cell (reported there), ending now
        if state.delivery is not None and stalled_stream(flow.response.headers if flow.response else {}):
            return  # a replayed stall LiteLLM let go of: the recording was served, as recorded
        state.session.exchanges.append(FailedExchange(error=failure(flow)))

    # ------------------------------------------------------------ the answer
    def _answer(self, flow: http.HTTPFlow, state: FlowState) -> tuple[RecordedResponse, ReplayedExchange]:
        """Its recording, the provider's rejection, the emulator's answer (changed), or
        the mismatch error; and the exchange that says which, kept for the cell."""
        session, provider, request = state.session, state.provider, state.request
        assert session is not None and provider is not None and request is not None
        auth_name = auth_cassette_name(url_host(request.url))
        recording = self._auth_cassette(session.root, auth_name) if auth_name else session.recorded
        assert recording is not None, "a replayed cell begins with its cassette"
        used = {e.served for e in session.exchanges
                if isinstance(e, ReplayedExchange) and e.auth == bool(auth_name) and e.served is not None}
        result = match(recording.interactions, request, session.cell.feature.load_bearing(provider), recording.where,
                       recording.views, used)
        exchange = ReplayedExchange(request=request, auth=bool(auth_name), served=result.index,
                                    closest=result.closest, diffs=result.diffs, mismatch=result.error,
                                    violation=state.violation, warnings=state.warnings,
                                    foreign_provider=state.foreign_provider)
        session.exchanges.append(exchange)
        if state.contract.rejected is not None:
            # the provider would refuse this request, whatever the recording says
            exchange.mismatch = None
            status, headers, body = provider.refusal(state.contract.rejected, request_seed(flow))
            return record_response(status, headers.items(), body), exchange
        if result.index is not None:
            return recording.interactions[result.index].response, exchange
        if result.route_recordings == 0 or result.new_conversation or result.new_turn:
            # Nothing recorded stands for this request (a route the recording never saw, a
            # conversation it never saw on the route, a turn beyond its last): nothing was
            # lost, the cassette is behind. The emulator answers; the tier is reported changed.
            exchange.changed = ("new route" if result.route_recordings == 0
                                else "new conversation" if result.new_conversation else "new turn")
            exchange.mismatch = None
            answer = _emulated(flow)
            exchange.response = record_response(answer.status, answer.headers.items(), answer.body)
            return exchange.response, exchange
        status, headers, body = mismatch_answer(provider, result.error or "no match")
        return record_response(status, headers.items(), body), exchange

    def _auth_cassette(self, root: Path, name: str) -> Recording:
        path = layout.auth_cassette_path(root, name)
        if path not in self.auth:
            self.auth[path] = Recording.load_if_any(path, root)
        return self.auth[path]

    def _deliver(self, flow: http.HTTPFlow, state: FlowState, response: RecordedResponse,
                 exchange: ReplayedExchange) -> None:
        """Answer with `response`, its stream cut as the cell's chunking says.

        Coalesced, the answer is made here (one write). Otherwise the flow goes to the
        delivery server, which writes each piece separately, with a pause between,
        through a streaming mitmproxy: LiteLLM's reads see the cuts."""
        assert state.session is not None
        pieces = chunking.cut(response, state.session.chunking)
        if response.stream is not None:
            exchange.writes = len(pieces)
        headers = dict(response.headers)
        # a stream the provider stalled (the emulator marks it): its events, then silence
        # until LiteLLM gives up on it, as when it was recorded
        stalled = response.stream is not None and stalled_stream(response.headers)
        if not stalled and (state.session.chunking == chunking.DEFAULT_CHUNKING or response.stream is None):
            flow.response = http.Response.make(response.status, b"".join(pieces), headers)
            return
        if self.delivery is None:
            self.delivery = DeliveryServer()
        state.delivery = self.delivery.add(EmulatedResponse(response.status, headers, pieces,
                                                            stall_after=len(pieces) if stalled else None))
        flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", self.delivery.port
        flow.request.headers[DeliveryServer.HEADER] = state.delivery


def _emulated(flow: http.HTTPFlow) -> EmulatedResponse:
    """The emulator's answer, made in process (replay starts no emulator server)."""
    from ccmatrix.emulator import EmulatedRequest, respond

    req = flow.request
    return respond(EmulatedRequest(req.method, req.host_header or req.pretty_host, req.path,
                                   dict(req.headers.items()), req.content or b""))
