"""The provider gate: every request LiteLLM sends upstream passes here first. It says
which provider the request is for, refuses what no provider would answer (a request
outside any cell, a host of no provider: fail closed, in every mode), and holds the
request to that provider's contract and, offline, to the run's credential mode. What it
lets in carries a FlowState that replay or the forwarder answers.

Claude Code may ask for a model the proxy serves from another provider (its WebSearch
tool runs on claude-haiku-4-5): that provider answers, by its contract, and the
exchange names it (foreign_provider).
"""

from __future__ import annotations

import json

from mitmproxy import http

from ccmatrix.providers import Provider, auth_cassette_name, provider_for_host
from ccmatrix.providers.contract import ProviderRequest, Verdict
from ccmatrix.recorder.addons.flows import failure, hostname, is_client_leg, json_response
from ccmatrix.recorder.addons.state import FlowState, RecorderState
from ccmatrix.recorder.control import CONTROL_HOST
from ccmatrix.recorder.exchanges import FailedExchange, RefusedExchange
from ccmatrix.recorder.record import record_request
from ccmatrix.recorder.session import CellSession


class ProviderGate:
    def __init__(self, state: RecorderState) -> None:
        self.state = state

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or is_client_leg(flow):
            return  # the control channel's, or the client leg's
        host = flow.request.pretty_host
        session = self.state.session
        if session is None:
            flow.response = json_response(502, {"error": f"ccmatrix: request to {host} outside any cell"})
            return
        provider = session.cell.provider if session.cell.provider.owns_host(host) else provider_for_host(host)
        if provider is None:
            flow.response = json_response(502, {"error": f"ccmatrix: {host} is not a host of any provider; refused"})
            session.exchanges.append(RefusedExchange(refused=f"{flow.request.method} {flow.request.pretty_url}"))
            return
        request = flow.request
        recorded = record_request(request.method, request.pretty_url, request.headers.items(multi=True),
                                  request.content or b"")
        FlowState(session=session, provider=provider, request=recorded,
                  contract=self._contract(session, provider, flow)).attach(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        # a provider request the gate let in is replay's or the forwarder's to report;
        # here, what never got that far (a refused request the connection dropped under)
        if FlowState.of(flow) is not None or self.state.session is None or flow.request.pretty_host == CONTROL_HOST:
            return
        self.state.session.exchanges.append(FailedExchange(error=failure(flow)))

    def _contract(self, session: CellSession, provider: Provider, flow: http.HTTPFlow) -> Verdict:
        """The provider's contract on the request as it is on the wire, and offline,
        the run's credential mode for the provider (a token endpoint's own requests aside)."""
        req = flow.request
        try:
            body = json.loads(req.content) if req.content else None
        except ValueError:
            body = None
        request = ProviderRequest.of(req.method, hostname(flow), req.path, dict(req.headers.items()), body)
        verdict = provider.check(request)
        if verdict.rejected is None and self.state.mode.holds_credentials and not session.native \
                and auth_cassette_name(request.host) is None:
            # live, the provider itself judges the credentials; natively, Claude Code brings its own
            refused = session.credentials.for_provider(provider).rule(provider.id).violation(request)
            verdict = Verdict(refused, verdict.warnings) if refused else verdict
        return verdict
