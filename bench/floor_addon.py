"""The replay bench's floor: what mitmdump loads in place of ccmatrix's recorder addons.

    mitmdump -s bench/floor_addon.py ...   (bench/replay_bench.py launches it as
    `Mitmdump(..., script=FLOOR_SCRIPT)` and puts each floor LiteLLM behind it)

Everything else is the ccmatrix run's: the same mitmdump (TLS interception with the same
CA, the client leg's reverse proxy, lazy upstream connections), the same LiteLLM behind
it, started by the same core with the same config and credentials. Only what answers
upstream differs:

- the control channel is ccmatrix's own (ControlChannel): /health, /cell/begin loads the
  cell's cassette from the BeginCell's tree, /cell/end answers an empty CellEnd (nothing
  is recorded here, so it holds no exchange);
- every provider request is answered at once with the next recorded response of the
  cell's cassette, in order: no matching, no contract or credential check, no exchange
  record, no client-leg record, no chunking (one write, as replay's default);
- a token endpoint's request (a provider's auth host) gets its auth cassette's response
  (cassettes/auth/), the one recorded for the same method and path.

One line per upstream request goes to stderr (mitmdump's log): `floor: CELL METHOD URL`,
and `floor error: ...` for a request the cassette has no response left for (the bench
reads them; a client that got that 500 does not match the ccmatrix run anyway).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from mitmproxy import http

from ccmatrix import cassette as cassette_files
from ccmatrix.catalog import layout
from ccmatrix.providers import auth_cassette_name
from ccmatrix.recorder.addons import ControlChannel, RecorderState
from ccmatrix.recorder.addons.flows import hostname, is_client_leg, json_response
from ccmatrix.recorder.session import CellSession, Recording


class FloorUpstream:
    """The next recorded response of the cell, for each provider request, at once."""

    def __init__(self, state: RecorderState) -> None:
        self.state = state
        self.session: CellSession | None = None  # the cell the cursor is for
        self.next = 0  # its next response
        self.auth: dict[Path, Recording] = {}  # the auth cassettes, by path

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or is_client_leg(flow):
            return  # the control channel's (answered), or the client leg's (goes on to LiteLLM)
        session = self.state.session
        if session is None or session.recorded is None:
            flow.response = self._error(f"{flow.request.method} {flow.request.pretty_url} outside any cell")
            return
        name = auth_cassette_name(hostname(flow))
        if name is not None:
            response = self._token(session.root, name, flow.request)
        else:
            if session is not self.session:
                self.session, self.next = session, 0
            interactions = session.recorded.interactions
            if self.next >= len(interactions):
                flow.response = self._error(f"{session.cell.id}: no recorded response left for "
                                            f"{flow.request.method} {flow.request.pretty_url}")
                return
            response = interactions[self.next].response
            self.next += 1
        print(f"floor: {session.cell.id} {flow.request.method} {flow.request.pretty_url}", file=sys.stderr)
        flow.response = http.Response.make(response.status, response.content(), dict(response.headers))

    def _token(self, root: Path, name: str, request: http.Request) -> cassette_files.RecordedResponse:
        path = layout.auth_cassette_path(root, name)
        if path not in self.auth:
            self.auth[path] = Recording.load_if_any(path, root)  # as replay loads it
        recorded = self.auth[path].interactions
        if not recorded:
            return cassette_files.RecordedResponse(status=500, headers={"content-type": "text/plain"},
                                                   body=None)
        wanted = (request.method, urlsplit(request.pretty_url).path)
        return next((i.response for i in recorded
                     if (i.request.method, urlsplit(i.request.url).path) == wanted), recorded[0].response)

    @staticmethod
    def _error(message: str) -> http.Response:
        print(f"floor error: {message}", file=sys.stderr)
        return json_response(500, {"error": {"message": f"replay_bench floor: {message}"}})


state = RecorderState()
addons = [ControlChannel(state), FloorUpstream(state)]
