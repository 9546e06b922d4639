"""ccmatrix's mitmproxy addon: records, emulates or replays provider traffic.

    mitmdump -s ccmatrix/recorder/script/ccmatrix_recorder.py --set connection_strategy=lazy \
        --set ccmatrix_upstream=replay|emulate|live --set ccmatrix_cassettes=cassettes/

LiteLLM runs with this mitmdump as its HTTPS proxy. Upstreams:
  live     forward to the real provider, record each exchange;
  emulate  forward to ccmatrix's built-in provider emulator (loopback), record;
  replay   answer from the cassettes, never forward; a request no cassette
           matches gets an explicit error naming the field-level differences.
Requests to hosts of no provider are refused in every mode (fail closed).

The driver (ccmatrix.stack) selects the cell being exercised through a control
host, `http://ccmatrix.control/...`, reached through this proxy itself:
  POST /cell/begin {"cell": "feature/provider/tier", "provenance": {...}}
  POST /cell/end   -> the exchanges seen (requests, and responses or replay matches)
  POST /cell/write {"verdict": {...}}  (record modes) writes the cell's cassette
Without a driver, `--set ccmatrix_cell=feature/provider/tier` records one cell
and writes its cassette when mitmdump exits.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.recording import CellSession, content_type, is_stream, record_interaction, record_request
from ccmatrix.replay import error_response, match, view

CONTROL_HOST = "ccmatrix.control"
UPSTREAMS = ("replay", "emulate", "live")
log = logging.getLogger("ccmatrix.recorder")


def _json_response(status: int, payload: Any) -> http.Response:
    return http.Response.make(status, json.dumps(payload).encode(), {"content-type": "application/json"})


class CcmatrixRecorder:
    def __init__(self) -> None:
        self.session: CellSession | None = None
        self.pending: CellSession | None = None
        self.emulator = None
        self.auth_cache: dict[str, cassettes.Cassette] = {}
        self.views: dict[str, list[dict[str, Any]]] = {}  # cassette path -> its request views

    # ------------------------------------------------------------ mitmproxy hooks
    def load(self, loader) -> None:
        loader.add_option("ccmatrix_upstream", str, "replay", "replay | emulate | live")
        loader.add_option("ccmatrix_cassettes", str, str(catalog.DEFAULT_CASSETTE_DIR), "cassette directory")
        loader.add_option("ccmatrix_cell", str, "", "record this cell without a driver (feature/provider/tier)")

    def configure(self, updated) -> None:
        if ctx.options.ccmatrix_upstream not in UPSTREAMS:
            raise ValueError(f"ccmatrix_upstream must be one of {UPSTREAMS}, not {ctx.options.ccmatrix_upstream!r}")
        if "ccmatrix_cell" in updated and ctx.options.ccmatrix_cell:
            self._begin(ctx.options.ccmatrix_cell, {"source": self._source})

    def running(self) -> None:
        if self.upstream == "emulate" and self.emulator is None:
            from ccmatrix.emulator.server import EmulatorServer

            self.emulator = EmulatorServer()
            self.emulator.start()

    def done(self) -> None:
        if self.session is not None and ctx.options.ccmatrix_cell and self.upstream != "replay":
            self._write(self.session, None)
        if self.emulator is not None:
            self.emulator.stop()

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            flow.response = self._control(flow.request)
            return
        host = flow.request.pretty_host
        session = self.session
        if session is None:
            flow.response = _json_response(502, {"error": f"ccmatrix: request to {host} outside any cell"})
            return
        if not session.cell.provider.owns_host(host):
            flow.response = _json_response(
                502, {"error": f"ccmatrix: {host} is not a host of provider {session.cell.provider.id}; refused"}
            )
            session.exchanges.append({"refused": f"{flow.request.method} {flow.request.pretty_url}"})
            return
        recorded = record_request(
            flow.request.method, flow.request.pretty_url, flow.request.headers.items(multi=True), flow.request.content or b""
        )
        flow.metadata["ccmatrix_request"] = recorded
        if self.upstream == "replay":
            flow.response = self._replay(session, recorded)
        elif self.upstream == "emulate":
            original = flow.request.host_header or host
            flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", self.emulator.port
            flow.request.host_header = original  # SigV4 signs Host: keep the provider's
        # live: mitmproxy forwards to the real host

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if self.upstream == "replay" or "ccmatrix_request" not in flow.metadata:
            return
        if is_stream(content_type({k.lower(): v for k, v in flow.response.headers.items()})):
            # pass each chunk on as it arrives, keeping a copy for the cassette
            chunks: list[bytes] = []
            flow.metadata["ccmatrix_chunks"] = chunks

            def tee(data: bytes) -> bytes:
                chunks.append(data)
                return data

            flow.response.stream = tee

    def response(self, flow: http.HTTPFlow) -> None:
        request = flow.metadata.get("ccmatrix_request")
        if self.upstream == "replay" or request is None or self.session is None:
            return
        chunks = flow.metadata.get("ccmatrix_chunks")
        if chunks is not None:
            from mitmproxy.net import encoding

            content = b"".join(chunks)
            if flow.response.headers.get("content-encoding"):
                content = encoding.decode(content, flow.response.headers["content-encoding"])
        else:
            content = flow.response.content or b""
        interaction = record_interaction(request, flow.response.status_code, flow.response.headers.items(multi=True), content)
        auth_name = catalog.AUTH_HOSTS.get(flow.request.host_header or flow.request.pretty_host)
        if auth_name:
            self._write_auth(auth_name, interaction)
        else:
            self.session.interactions.append(interaction)
        self.session.exchanges.append({
            "request": request.model_dump(mode="json", by_alias=True, exclude_none=True),
            "auth": bool(auth_name),
            # how the response passed through: streamed chunk by chunk, or whole
            "chunks": len([c for c in chunks if c]) if chunks is not None else None,
            "response": interaction.response.model_dump(mode="json", by_alias=True, exclude_none=True),
        })

    def error(self, flow: http.HTTPFlow) -> None:
        if self.session is not None and flow.request.pretty_host != CONTROL_HOST:
            self.session.exchanges.append({"error": f"{flow.request.method} {flow.request.pretty_url}: {flow.error}"})

    # ------------------------------------------------------------ modes
    @property
    def upstream(self) -> str:
        return ctx.options.ccmatrix_upstream

    @property
    def root(self) -> Path:
        return Path(ctx.options.ccmatrix_cassettes)

    @property
    def _source(self) -> str:
        return "live" if self.upstream == "live" else "emulator"

    def _replay(self, session: CellSession, request: cassettes.RecordedRequest) -> http.Response:
        host = request.url.split("/")[2]
        auth_name = catalog.AUTH_HOSTS.get(host)
        if auth_name:
            source = self._auth_cassette(auth_name)
            where = str(catalog.auth_cassette_path(auth_name, self.root))
        else:
            source = session.recorded
            where = str(session.cell.cassette_path(self.root))
        interactions = source.interactions if source is not None else []
        views = self.views.get(where)
        if views is None:
            views = self.views[where] = [view(i.request) for i in interactions]
        result = match(interactions, request, session.cell.feature.load_bearing(session.cell.provider), where, views)
        exchange: dict[str, Any] = {
            "request": request.model_dump(mode="json", by_alias=True, exclude_none=True),
            "auth": bool(auth_name),
            "served": result.index,
            "closest": result.closest,
            "diffs": [d.model_dump(mode="json") for d in result.diffs],
            "mismatch": result.error,
        }
        session.exchanges.append(exchange)
        if result.index is None:
            status, headers, body = error_response(session.cell.provider.id, result.error or "no match")
            return http.Response.make(status, body, headers)
        recorded = interactions[result.index].response
        return http.Response.make(recorded.status, recorded.content(), dict(recorded.headers))

    def _auth_cassette(self, name: str) -> cassettes.Cassette | None:
        if name not in self.auth_cache:
            path = catalog.auth_cassette_path(name, self.root)
            self.auth_cache[name] = cassettes.load(path, self.root) if path.exists() else None
        return self.auth_cache[name]

    def _write_auth(self, name: str, interaction: cassettes.Interaction) -> None:
        # Token exchanges belong to the session, not a cell (LiteLLM caches tokens,
        # so only the first cell of a run would see one): one shared auth cassette.
        path = catalog.auth_cassette_path(name, self.root)
        cassette = cassettes.Cassette(provenance=self._provenance(self.session), interactions=[interaction])
        cassettes.save(cassette, path, self.root)
        self.auth_cache[name] = cassette

    # ------------------------------------------------------------ control channel
    def _control(self, request: http.Request) -> http.Response:
        try:
            payload = json.loads(request.content or b"{}")
            if request.path == "/health":
                return _json_response(200, {"ok": True, "upstream": self.upstream, "version": __version__})
            if request.path == "/cell/begin":
                self._begin(payload["cell"], payload.get("provenance") or {})
                return _json_response(200, {"ok": True})
            if request.path == "/cell/end":
                return _json_response(200, self._end())
            if request.path == "/cell/write":
                return _json_response(200, {"cassette": str(self._write_pending(payload.get("verdict")))})
            return _json_response(404, {"error": f"unknown control path {request.path}"})
        except (cassettes.CassetteError, catalog.CatalogError, KeyError, ValueError) as exc:
            return _json_response(409, {"error": str(exc)})

    def _begin(self, cell_id: str, provenance: dict[str, Any]) -> None:
        self.session = None  # a refused begin must not leave the previous cell answering
        cell = catalog.Cell.parse(cell_id)
        self.views.pop(str(cell.cassette_path(self.root)), None)  # the file may have changed
        recorded = None
        if self.upstream == "replay":
            recorded = cassettes.load(cell.cassette_path(self.root), self.root)
        self.session = CellSession(cell=cell, provenance=provenance, recorded=recorded)

    def _end(self) -> dict[str, Any]:
        session, self.session = self.session, None
        if session is None:
            raise ValueError("no cell in progress")
        # kept until /cell/write: the driver judges the cell first, and the
        # verdict is stored with the cassette
        self.pending = session if self.upstream != "replay" else None
        return {"cell": session.cell.id, "exchanges": session.exchanges}

    def _write_pending(self, verdict: dict[str, Any] | None) -> Path:
        session, self.pending = self.pending, None
        if session is None:
            raise ValueError("no recorded cell to write (replay mode, or /cell/end not called)")
        return self._write(session, verdict)

    def _provenance(self, session: CellSession | None) -> dict[str, Any]:
        from datetime import datetime, timezone

        given = dict(session.provenance) if session else {}
        given.update(
            recorded_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            source=self._source,
            ccmatrix_version=__version__,
        )
        return given

    def _write(self, session: CellSession, verdict: dict[str, Any] | None) -> Path:
        cell = session.cell
        path = cell.cassette_path(self.root)
        cassette = cassettes.Cassette(
            cell=cassettes.CellRef(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                   proxy_model=cell.proxy_model),
            provenance=self._provenance(session),
            verdict=verdict or {"status": "not_tested", "error": "recorded without a driver"},
            interactions=session.interactions,
        )
        cassettes.save(cassette, path, self.root)
        ctx.log.info(f"ccmatrix: wrote {path} ({len(session.interactions)} interactions)")
        return path

