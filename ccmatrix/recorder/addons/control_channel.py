"""The control channel: the driver (ccmatrix.proxy.mitmdump) begins and ends each cell
tier here, through mitmdump itself as plain HTTP to a reserved host (the messages are
ccmatrix.recorder.control's). It owns the cell in progress and the addons' options.

Without a driver, `--set ccmatrix_cell=feature/provider/tier` begins that cell tier at
start, and a record mode writes its cassette when mitmdump exits (ccmatrix.recorder.write,
as the driver would, with no verdict).
"""

from __future__ import annotations

import logging
from pathlib import Path

from mitmproxy import ctx, exceptions, http
from pydantic import ValidationError

from ccmatrix import __version__, catalog
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import ALL_PROVIDERS, choose
from ccmatrix.recorder.addons.flows import json_response
from ccmatrix.recorder.addons.forward import record_exchange
from ccmatrix.recorder.addons.state import FlowState, RecorderState
from ccmatrix.recorder.control import CONTROL_HOST, BeginCell, ErrorReply, Health, Ok
from ccmatrix.recorder.exchanges import CellEnd
from ccmatrix.recorder.mode import UPSTREAMS, Upstream
from ccmatrix.recorder.session import CellSession, Recording
from ccmatrix.recorder.write import write_auth, write_cell

log = logging.getLogger("ccmatrix.recorder")


class ControlChannel:
    def __init__(self, state: RecorderState) -> None:
        self.state = state

    # ------------------------------------------------------------ options
    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option("ccmatrix_upstream", str, "replay", " | ".join(UPSTREAMS))
        loader.add_option("ccmatrix_cassettes", str, str(DEFAULT_CASSETTE_DIR), "cassette directory")
        loader.add_option("ccmatrix_cell", str, "", "record this cell tier without a driver (feature/provider/tier)")

    def configure(self, updated: set[str]) -> None:
        try:
            self.state.mode = Upstream(ctx.options.ccmatrix_upstream)
        except ValueError:
            raise exceptions.OptionsError(
                f"ccmatrix_upstream must be one of {UPSTREAMS}, not {ctx.options.ccmatrix_upstream!r}") from None
        self.state.root = Path(ctx.options.ccmatrix_cassettes)
        if "ccmatrix_cell" in updated and ctx.options.ccmatrix_cell:
            try:
                self.begin(BeginCell(cell=ctx.options.ccmatrix_cell, claude_code=CLAUDE_CODE_VERSION,
                                     provenance={"source": self.state.mode.source}))
            except (CcmatrixError, ValueError) as exc:
                raise exceptions.OptionsError(f"ccmatrix_cell: {exc}") from None

    def done(self) -> None:
        session = self.state.session
        if session is None or not ctx.options.ccmatrix_cell or not self.state.mode.records:
            return
        end = self.end()
        path = write_cell(self.state.root, session.cell, session.claude_code, end, None, session.provenance,
                          session.native, mode=self.state.mode)
        write_auth(self.state.root, end, session.provenance, mode=self.state.mode)
        log.info("ccmatrix: wrote %s (%d exchanges)", path, len(end.exchanges))

    # ------------------------------------------------------------ the channel
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            flow.response = self._answer(flow.request)

    def _answer(self, request: http.Request) -> http.Response:
        body = request.content or b"{}"
        try:
            if request.path == "/health":
                return json_response(200, Health(upstream=self.state.mode, version=__version__))
            if request.path == "/cell/begin":
                self.begin(BeginCell.model_validate_json(body))
                return json_response(200, Ok())
            if request.path == "/cell/end":
                return json_response(200, self.end())
            return json_response(404, ErrorReply(error=f"unknown control path {request.path}"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return json_response(409, ErrorReply(error=f"{request.path}: {where}: {first['msg']}"))
        except (CcmatrixError, ValueError) as exc:
            return json_response(409, ErrorReply(error=str(exc)))

    # ------------------------------------------------------------ the cell in progress
    def begin(self, begin: BeginCell) -> None:
        self.state.session = None  # a refused begin must not leave the previous cell answering
        cell = catalog.CellTier.parse(begin.cell)
        mode = self.state.mode
        if begin.native and not mode.records:
            raise ValueError("a native reference is recorded (emulate, live), not replayed")
        root = Path(begin.root) if begin.root else self.state.root
        # read now, so that a missing or broken cassette refuses the cell, naming the file
        recorded = Recording.load(cell.cassette_path(root, begin.claude_code), root) \
            if mode.answers_from_cassettes else None
        self.state.session = CellSession(cell=cell, claude_code=begin.claude_code, root=root, native=begin.native,
                                         provenance=begin.provenance, recorded=recorded, chunking=begin.chunking,
                                         credentials=choose([begin.credentials], ALL_PROVIDERS))

    def end(self) -> CellEnd:
        session = self.state.session
        if session is None:
            raise ValueError("no cell in progress")
        left_open = list(session.open_streams.values())
        session.open_streams.clear()
        requests = []
        for flow in left_open:
            state = FlowState.of(flow)
            assert state is not None and state.request is not None
            requests.append(f"{flow.request.method} {state.request.url}")
            if self.state.mode.records:
                record_exchange(flow, state, self.state.mode)  # what the stream had sent: it belongs to this cell
        self.state.session = None
        return CellEnd(cell=session.cell.id, exchanges=session.exchanges, client=session.client, left_open=requests)
