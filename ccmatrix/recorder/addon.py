"""ccmatrix's mitmproxy addon: records, emulates or replays provider traffic.

    mitmdump -s ccmatrix/recorder/script/ccmatrix_recorder.py --set connection_strategy=lazy \
        --set ccmatrix_upstream=replay|emulate|live --set ccmatrix_cassettes=cassettes/

LiteLLM runs with this mitmdump as its HTTPS proxy. Upstreams:
  live     forward to the real provider, record each exchange;
  emulate  forward to ccmatrix's built-in provider emulator (loopback), record;
  replay   answer from the cassettes, never forward; a request no cassette
           matches gets an explicit error naming the field-level differences.
Requests to hosts of no provider are refused in every mode (fail closed).

The driver (ccmatrix.proxy.stack) selects the cell tier being exercised through
a control host reached through this proxy itself; the messages are the models in
protocol.py. Without a driver, `--set ccmatrix_cell=feature/provider/tier`
records one cell tier and writes its cassette when mitmdump exits.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http
from pydantic import BaseModel, ValidationError

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.catalog import layout
from ccmatrix.catalog.faults import stalled_stream
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.emulator.exchange import EmulatedResponse
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import PROVIDERS, Provider, auth_cassette_name, choose
from ccmatrix.providers.contract import ProviderRequest, Verdict, Violation
from ccmatrix.providers.credentials import CredentialRule
from ccmatrix.recorder import chunking
from ccmatrix.recorder.delivery import DeliveryServer
from ccmatrix.recorder.match import match, mismatch_answer, view
from ccmatrix.recorder.protocol import (
    CONTROL_HOST,
    UPSTREAMS,
    BeginCell,
    CellEnd,
    ClientLegExchange,
    ContractNote,
    ErrorReply,
    FailedExchange,
    Health,
    Ok,
    RecordedExchange,
    RefusedExchange,
    ReplayedExchange,
    WriteCell,
    Written,
)
from ccmatrix.recorder.record import (
    CellSession,
    content_type,
    is_stream,
    record_interaction,
    record_request,
    record_response,
)

log = logging.getLogger("ccmatrix.recorder")


def _note(violation: Violation | None) -> ContractNote | None:
    if violation is None:
        return None
    rule = violation.rule
    return ContractNote(rule=rule.id, message=violation.message, evidence=list(rule.evidence), action=rule.action)


def _auth_route(interaction: cassettes.Interaction) -> tuple[str, str, str]:
    """What a token endpoint was asked: method, URL, and for AWS's query APIs the action
    (STS takes GetCallerIdentity and AssumeRole at one URL)."""
    request = interaction.request
    form = request.body.form if request.body is not None and request.body.form is not None else {}
    return request.method, request.url, str(form.get("Action", ""))


def _credentials_violation(violation: Violation | None) -> bool:
    return violation is not None and isinstance(violation.rule, CredentialRule)


def _hostname(flow: http.HTTPFlow) -> str:
    """The host the request is for (the provider's, also when forwarded to the emulator)."""
    return (flow.request.host_header or flow.request.pretty_host).split(":")[0]


def provider_for_host(host: str) -> Provider | None:
    return next((p for p in PROVIDERS if p.owns_host(host)), None)


def _foreign(session: CellSession, provider: Provider | None) -> str | None:
    """The provider's id when it is not the cell's own."""
    return provider.id if provider is not None and provider is not session.cell.provider else None


def is_client_leg(flow: http.HTTPFlow) -> bool:
    """A flow that came in on the reverse-proxy port: a client talking to LiteLLM."""
    mode = getattr(flow.client_conn, "proxy_mode", None)
    return getattr(mode, "type_name", "") == "reverse"


def request_seed(flow: http.HTTPFlow) -> str:
    """What the emulator derives ids from: the body's hash."""
    return hashlib.sha256(flow.request.content or b"").hexdigest()


def _json_response(status: int, message: BaseModel | dict[str, Any]) -> http.Response:
    body = message.model_dump_json() if isinstance(message, BaseModel) else json.dumps(message)
    return http.Response.make(status, body.encode(), {"content-type": "application/json"})


class CcmatrixRecorder:
    def __init__(self) -> None:
        self.session: CellSession | None = None
        self.pending: CellSession | None = None
        self.emulator = None
        self.delivery: DeliveryServer | None = None  # replay under a chunking other than coalesced
        self.auth_cache: dict[str, cassettes.Cassette | None] = {}
        self.views: dict[str, list[dict[str, Any]]] = {}  # cassette path -> its request views
        # streams the provider stalled on purpose, under way (flow id -> flow): one still
        # open when its cell ends was left open by LiteLLM after the client gave up (_end).
        # Only those: a stream that is just finishing as the cell ends is not left open.
        self.open_streams: dict[str, http.HTTPFlow] = {}

    # ------------------------------------------------------------ mitmproxy hooks
    def load(self, loader) -> None:
        loader.add_option("ccmatrix_upstream", str, "replay", "replay | emulate | live")
        loader.add_option("ccmatrix_cassettes", str, str(DEFAULT_CASSETTE_DIR), "cassette directory")
        loader.add_option("ccmatrix_cell", str, "", "record this cell tier without a driver (feature/provider/tier)")

    def configure(self, updated) -> None:
        if ctx.options.ccmatrix_upstream not in UPSTREAMS:
            raise ValueError(f"ccmatrix_upstream must be one of {UPSTREAMS}, not {ctx.options.ccmatrix_upstream!r}")
        if "ccmatrix_cell" in updated and ctx.options.ccmatrix_cell:
            self._begin(BeginCell(cell=ctx.options.ccmatrix_cell, claude_code=CLAUDE_CODE_VERSION,
                                  provenance={"source": self._source}))

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
        if self.delivery is not None:
            self.delivery.stop()

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            flow.response = self._control(flow.request)
            return
        if is_client_leg(flow):
            # the client's request to LiteLLM: goes through, and is kept for the cell
            flow.metadata["ccmatrix_client_request"] = record_request(
                flow.request.method, flow.request.path, flow.request.headers.items(multi=True),
                flow.request.content or b"", client_leg=True)
            return
        host = flow.request.pretty_host
        session = self.session
        if session is None:
            flow.response = _json_response(502, {"error": f"ccmatrix: request to {host} outside any cell"})
            return
        provider = session.cell.provider if session.cell.provider.owns_host(host) else provider_for_host(host)
        if provider is None:
            flow.response = _json_response(502, {"error": f"ccmatrix: {host} is not a host of any provider; refused"})
            session.exchanges.append(RefusedExchange(refused=f"{flow.request.method} {flow.request.pretty_url}"))
            return
        # Claude Code may ask for a model the proxy serves from another provider (its
        # WebSearch tool runs on claude-haiku-4-5): that provider answers, by its contract
        flow.metadata["ccmatrix_provider"] = provider
        flow.metadata["ccmatrix_session"] = session
        recorded = record_request(
            flow.request.method, flow.request.pretty_url, flow.request.headers.items(multi=True), flow.request.content or b""
        )
        flow.metadata["ccmatrix_request"] = recorded
        flow.metadata["ccmatrix_contract"] = self._contract(session, flow)
        if self.upstream == "replay":
            self._deliver(flow, session, self._replay(session, recorded, flow))
        elif self.upstream == "emulate" and _credentials_violation(flow.metadata["ccmatrix_violation"]):
            # the emulator does not know the run's modes: the refusal is answered here
            status, headers, body = provider.refusal(flow.metadata["ccmatrix_violation"], request_seed(flow))
            flow.response = http.Response.make(status, body, headers)
        elif self.upstream == "emulate":
            original = flow.request.host_header or host
            flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", self.emulator.port
            flow.request.host_header = original  # SigV4 signs Host: keep the provider's
        # live: mitmproxy forwards to the real host

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get("ccmatrix_delivery"):
            flow.response.stream = True  # keep the delivery server's writes apart
            if stalled_stream(flow.response.headers):
                self.open_streams[flow.id] = flow
            return
        client_leg = "ccmatrix_client_request" in flow.metadata
        if not client_leg and (self.upstream == "replay" or "ccmatrix_request" not in flow.metadata):
            return
        if is_stream(content_type({k.lower(): v for k, v in flow.response.headers.items()})):
            # pass each chunk on as it arrives, keeping a copy for the cassette
            chunks: list[bytes] = []
            flow.metadata["ccmatrix_chunks"] = chunks

            def tee(data: bytes) -> bytes:
                chunks.append(data)
                return data

            flow.response.stream = tee
            if not client_leg and stalled_stream(flow.response.headers):
                self.open_streams[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        self.open_streams.pop(flow.id, None)
        if "ccmatrix_client_request" in flow.metadata:
            self._client_leg(flow)
        else:
            self._upstream_leg(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        # A stream the client gave up on (Claude Code's idle watchdog on a stalled stream)
        # ends here, not in `response`: what came before is kept like any answer, so the
        # verdict sees it and replay can give it again.
        self.open_streams.pop(flow.id, None)
        partial = flow.response is not None and "ccmatrix_chunks" in flow.metadata
        if "ccmatrix_client_request" in flow.metadata:
            if partial:
                self._client_leg(flow, error=str(flow.error))
            elif self.session is not None:
                self.session.client.append(ClientLegExchange(request=flow.metadata["ccmatrix_client_request"],
                                                             error=str(flow.error)))
            return
        if partial and self._upstream_leg(flow):
            return
        if "ccmatrix_session" in flow.metadata and flow.metadata["ccmatrix_session"] is not self.session:
            return  # a stream left open past its cell (reported there), ending now
        if flow.metadata.get("ccmatrix_delivery") and stalled_stream(flow.response.headers if flow.response else {}):
            return  # a replayed stall LiteLLM let go of: the recording was served, as recorded
        if self.session is not None and flow.request.pretty_host != CONTROL_HOST:
            self.session.exchanges.append(
                FailedExchange(error=f"{flow.request.method} {flow.request.pretty_url}: {flow.error}"))

    def _content(self, flow: http.HTTPFlow) -> tuple[bytes, list[int] | None]:
        """The answer's body as it came (a stream's tee'd chunks, decoded), and, for a live
        provider's plain stream, the sizes of its reads."""
        chunks = flow.metadata.get("ccmatrix_chunks")
        if chunks is None:
            return flow.response.content or b"", None
        content = b"".join(chunks)
        if flow.response.headers.get("content-encoding"):
            from mitmproxy.net import encoding

            return encoding.decode(content, flow.response.headers["content-encoding"]), None
        if self.upstream == "live" and "ccmatrix_client_request" not in flow.metadata:
            # where a real provider's stream was cut (the `recorded` chunking replays it). Not
            # kept from the emulator: its cuts are ours (one event per write), and timing
            # would make re-recording unchanged traffic rewrite the cassette. Nor from an
            # encoded body: those cuts say nothing about the events.
            return content, [len(c) for c in chunks if c]
        return content, None

    def _upstream_leg(self, flow: http.HTTPFlow) -> bool:
        """Record one of LiteLLM's upstream exchanges (record modes); whether it was."""
        request = flow.metadata.get("ccmatrix_request")
        if self.upstream == "replay" or request is None or self.session is None:
            return False
        if flow.metadata.get("ccmatrix_session") is not self.session:
            return True  # its cell has ended (and kept what the stream had sent by then)
        content, reads = self._content(flow)
        interaction = record_interaction(request, flow.response.status_code, flow.response.headers.items(multi=True),
                                         content, reads)
        auth_name = auth_cassette_name(_hostname(flow))
        if auth_name:
            self._write_auth(auth_name, interaction)
        else:
            self.session.interactions.append(interaction)
        violation, warnings = flow.metadata.get("ccmatrix_contract") or (None, [])
        chunks = flow.metadata.get("ccmatrix_chunks")
        self.session.exchanges.append(RecordedExchange(
            request=request,
            auth=bool(auth_name),
            chunks=len([c for c in chunks if c]) if chunks is not None else None,
            response=interaction.response,
            violation=violation,
            warnings=warnings,
            foreign_provider=None if auth_name else _foreign(self.session, flow.metadata.get("ccmatrix_provider")),
        ))
        return True

    def _client_leg(self, flow: http.HTTPFlow, error: str | None = None) -> None:
        if self.session is None:
            return
        content, _ = self._content(flow)
        response = record_response(flow.response.status_code, flow.response.headers.items(multi=True), content)
        self.session.client.append(ClientLegExchange(request=flow.metadata["ccmatrix_client_request"],
                                                     response=response, error=error))

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

    def _replay(self, session: CellSession, request: cassettes.RecordedRequest,
                flow: http.HTTPFlow) -> cassettes.RecordedResponse:
        """The answer to a replayed request: its recording, the provider's rejection, the
        emulator's answer (changed), or the mismatch error."""
        auth_name = auth_cassette_name(request.url.split("/")[2].split(":")[0])
        if auth_name:
            source = self._auth_cassette(auth_name)
            where = str(layout.auth_cassette_path(self.root, auth_name))
        else:
            source = session.recorded
            where = str(session.cell.cassette_path(self.root, session.claude_code))
        interactions = source.interactions if source is not None else []
        views = self.views.get(where)
        if views is None:
            views = self.views[where] = [view(i.request) for i in interactions]
        provider = flow.metadata["ccmatrix_provider"]
        used = {e.served for e in session.exchanges
                if isinstance(e, ReplayedExchange) and e.auth == bool(auth_name) and e.served is not None}
        result = match(interactions, request, session.cell.feature.load_bearing(provider), where, views, used)
        violation, warnings = flow.metadata.get("ccmatrix_contract") or (None, [])
        exchange = ReplayedExchange(request=request, auth=bool(auth_name), served=result.index, closest=result.closest,
                                    diffs=result.diffs, mismatch=result.error, violation=violation, warnings=warnings,
                                    foreign_provider=_foreign(session, provider))
        session.exchanges.append(exchange)
        if violation is not None:
            # the provider would refuse this request, whatever the recording says
            exchange.mismatch = None
            status, headers, body = provider.refusal(flow.metadata["ccmatrix_violation"], request_seed(flow))
            return record_response(status, headers.items(), body)
        if result.index is not None:
            return interactions[result.index].response
        if result.route_recordings == 0 or result.new_conversation or result.new_turn:
            # Nothing recorded stands for this request (a route the recording never saw, a
            # conversation it never saw on the route, a turn beyond its last): nothing was
            # lost, the cassette is behind. The emulator answers; the tier is reported changed.
            exchange.changed = ("new route" if result.route_recordings == 0
                                else "new conversation" if result.new_conversation else "new turn")
            exchange.mismatch = None
            answer = self._emulated(flow)
            exchange.response = record_response(answer.status, answer.headers.items(), answer.body)
            return exchange.response
        status, headers, body = mismatch_answer(provider, result.error or "no match")
        return record_response(status, headers.items(), body)

    def _deliver(self, flow: http.HTTPFlow, session: CellSession, response: cassettes.RecordedResponse) -> None:
        """Answer with `response`, its stream cut as the cell's chunking says.

        Coalesced, the addon answers itself (one write). Otherwise the flow goes to a
        loopback delivery server that writes each piece separately, with a pause
        between, through a streaming mitmproxy: LiteLLM's reads see the cuts."""
        pieces = chunking.cut(response, session.chunking)
        exchange = session.exchanges[-1] if session.exchanges else None
        if isinstance(exchange, ReplayedExchange) and response.stream is not None:
            exchange.writes = len(pieces)
        headers = dict(response.headers)
        # a stream the provider stalled (the emulator marks it): its events, then silence
        # until LiteLLM gives up on it, as when it was recorded
        stalled = response.stream is not None and stalled_stream(response.headers)
        if not stalled and (session.chunking == chunking.DEFAULT_CHUNKING or response.stream is None):
            flow.response = http.Response.make(response.status, b"".join(pieces), headers)
            return
        if self.delivery is None:
            self.delivery = DeliveryServer()
        token = self.delivery.add(EmulatedResponse(response.status, headers, pieces,
                                                   stall_after=len(pieces) if stalled else None))
        flow.metadata["ccmatrix_delivery"] = token
        flow.request.scheme, flow.request.host, flow.request.port = "http", "127.0.0.1", self.delivery.port
        flow.request.headers[DeliveryServer.HEADER] = token

    def _contract(self, session: CellSession, flow: http.HTTPFlow) -> tuple[ContractNote | None, list[ContractNote]]:
        """The cell's provider contract on the request as it is on the wire, and offline,
        the run's credential mode for the provider (a token endpoint's own requests aside)."""
        req = flow.request
        try:
            body = json.loads(req.content) if req.content else None
        except ValueError:
            body = None
        provider: Provider = flow.metadata["ccmatrix_provider"]
        request = ProviderRequest.of(req.method, _hostname(flow), req.path, dict(req.headers.items()), body)
        verdict = provider.check(request)
        if verdict.rejected is None and self.upstream != "live" and not session.native \
                and auth_cassette_name(request.host) is None:
            # live, the provider itself judges the credentials; natively, Claude Code brings its own
            refused = session.credentials.for_provider(provider).rule(provider.id).violation(request)
            verdict = Verdict(refused, verdict.warnings) if refused else verdict
        flow.metadata["ccmatrix_violation"] = verdict.rejected
        return _note(verdict.rejected), [_note(w) for w in verdict.warnings]

    def _emulated(self, flow: http.HTTPFlow):  # type: ignore[no-untyped-def]
        from ccmatrix.emulator import EmulatedRequest, respond

        req = flow.request
        return respond(EmulatedRequest(req.method, req.host_header or req.pretty_host, req.path,
                                       dict(req.headers.items()), req.content or b""))

    def _auth_cassette(self, name: str) -> cassettes.Cassette | None:
        if name not in self.auth_cache:
            path = layout.auth_cassette_path(self.root, name)
            self.auth_cache[name] = cassettes.load(path, self.root) if path.exists() else None
        return self.auth_cache[name]

    def _write_auth(self, name: str, interaction: cassettes.Interaction) -> None:
        # Token exchanges belong to the session, not a cell (LiteLLM caches tokens,
        # so only the first cell of a run would see one): one shared auth cassette,
        # an interaction per route (the metadata server is asked several things).
        path = layout.auth_cassette_path(self.root, name)
        kept = self._auth_cassette(name)
        others = [i for i in (kept.interactions if kept else []) if _auth_route(i) != _auth_route(interaction)]
        cassette = cassettes.Cassette(provenance=self._provenance(self.session), interactions=[*others, interaction])
        cassettes.save(cassette, path, self.root)
        self.auth_cache[name] = cassette

    # ------------------------------------------------------------ control channel
    def _control(self, request: http.Request) -> http.Response:
        body = request.content or b"{}"
        try:
            if request.path == "/health":
                return _json_response(200, Health(upstream=self.upstream, version=__version__))
            if request.path == "/cell/begin":
                self._begin(BeginCell.model_validate_json(body))
                return _json_response(200, Ok())
            if request.path == "/cell/end":
                return _json_response(200, self._end())
            if request.path == "/cell/write":
                return _json_response(200, Written(cassette=str(self._write_pending(WriteCell.model_validate_json(body)))))
            return _json_response(404, ErrorReply(error=f"unknown control path {request.path}"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return _json_response(409, ErrorReply(error=f"{request.path}: {where}: {first['msg']}"))
        except (CcmatrixError, ValueError) as exc:
            return _json_response(409, ErrorReply(error=str(exc)))

    def _begin(self, begin: BeginCell) -> None:
        self.session = None  # a refused begin must not leave the previous cell answering
        cell = catalog.CellTier.parse(begin.cell)
        if begin.native and self.upstream == "replay":
            raise ValueError("a native reference is recorded (emulate, live), not replayed")
        path = cell.cassette_path(self.root, begin.claude_code)
        self.views.pop(str(path), None)  # the file may have changed
        recorded = None
        if self.upstream == "replay":
            recorded = cassettes.load(path, self.root)
        if self.emulator is not None:
            self.emulator.reset_attempts()  # a cell's faults on purpose start from its first attempt
        self.session = CellSession(cell=cell, claude_code=begin.claude_code, native=begin.native,
                                   provenance=begin.provenance, recorded=recorded,
                                   chunking=begin.chunking, credentials=choose([begin.credentials], PROVIDERS))

    def _end(self) -> CellEnd:
        if self.session is None:
            raise ValueError("no cell in progress")
        left_open = [f for f in self.open_streams.values() if f.metadata.get("ccmatrix_session") is self.session]
        for flow in left_open:
            del self.open_streams[flow.id]
            self._upstream_leg(flow)  # what the stream had sent (record modes): it belongs to this cell
        session, self.session = self.session, None
        # kept until /cell/write: the driver judges the cell first, and the
        # verdict is stored with the cassette
        self.pending = session if self.upstream != "replay" else None
        return CellEnd(cell=session.cell.id, exchanges=session.exchanges, client=session.client,
                       left_open=[f"{f.request.method} {f.metadata['ccmatrix_request'].url}" for f in left_open])

    def _write_pending(self, write: WriteCell) -> Path:
        session, self.pending = self.pending, None
        if session is None:
            raise ValueError("no recorded cell to write (replay mode, or /cell/end not called)")
        session.provenance.update(write.provenance)
        return self._write(session, write.verdict)

    def _provenance(self, session: CellSession | None) -> dict[str, Any]:
        given = dict(session.provenance) if session else {}
        given.update(
            recorded_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            source=self._source,
            ccmatrix_version=__version__,
        )
        return given

    def _write(self, session: CellSession, verdict: cassettes.RecordedVerdict | None) -> Path:
        cell = session.cell
        interactions = session.interactions
        if session.native:
            # a native reference keeps Claude Code's requests; the emulator's answers
            # are no evidence of anything, only their status is kept
            path = cell.native_path(self.root, session.claude_code)
            interactions = [cassettes.Interaction(request=i.request, response=cassettes.RecordedResponse(
                status=i.response.status)) for i in interactions]
        else:
            path = cell.cassette_path(self.root, session.claude_code)
        cassette = cassettes.Cassette(
            cell=cassettes.CellRef(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                   proxy_model=cell.proxy_model),
            provenance=self._provenance(session),
            verdict=verdict or cassettes.RecordedVerdict(status="not_tested", error="recorded without a driver"),
            client=[ex.request for ex in session.client if ex.request.method == "POST"],
            interactions=interactions,
        )
        cassettes.save(cassette, path, self.root)
        ctx.log.info(f"ccmatrix: wrote {path} ({len(session.interactions)} interactions)")
        return path
