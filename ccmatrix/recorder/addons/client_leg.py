"""The client-leg tap: what the client (the CLI, the captured-request driver, a probe)
sends LiteLLM through mitmdump's reverse-proxy port, and LiteLLM's answer, kept for the
cell in progress. Nothing is changed on the way: the tap only looks."""

from __future__ import annotations

from mitmproxy import http

from ccmatrix.recorder.addons.flows import answer_content, is_client_leg, tee
from ccmatrix.recorder.addons.state import FlowState, RecorderState, client_leg
from ccmatrix.recorder.exchanges import ClientLegExchange
from ccmatrix.recorder.record import record_request, record_response


class ClientLegTap:
    def __init__(self, state: RecorderState) -> None:
        self.state = state

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or not is_client_leg(flow):
            return
        request = flow.request
        FlowState(client_request=record_request(request.method, request.path, request.headers.items(multi=True),
                                                request.content or b"", client_leg=True)).attach(flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        state = client_leg(flow)
        if state is not None:
            tee(flow, state)

    def response(self, flow: http.HTTPFlow) -> None:
        state = client_leg(flow)
        if state is not None:
            self._keep(flow, state)

    def error(self, flow: http.HTTPFlow) -> None:
        # A stream the client gave up on (Claude Code's idle watchdog on a stalled stream)
        # ends here, not in `response`: what came before is kept like any answer.
        state = client_leg(flow)
        if state is None:
            return
        if flow.response is not None and state.chunks is not None:
            self._keep(flow, state, error=str(flow.error))
        elif self.state.session is not None:
            assert state.client_request is not None
            self.state.session.client.append(ClientLegExchange(request=state.client_request, error=str(flow.error)))

    def _keep(self, flow: http.HTTPFlow, state: FlowState, error: str | None = None) -> None:
        session = self.state.session
        if session is None:
            return
        assert state.client_request is not None
        content, _ = answer_content(flow, state)
        response = record_response(flow.response.status_code, flow.response.headers.items(multi=True), content)
        session.client.append(ClientLegExchange(request=state.client_request, response=response, error=error))
