"""The capture tool: what the real Claude Code CLI sends, for each scenario.

Runs the pinned `claude` CLI offline against a loopback server that answers as
the Anthropic API does (the provider emulator), records every request it gets,
and keeps the turns that make up the scenario. The result is the client side of
a cassette: `cassettes/clients/<scenario>/<tier>.json`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from ccmatrix import catalog
from ccmatrix.claude_cli import ClaudeCliError, install, offline_env, version
from ccmatrix.client import ClientCapture, ClientTurn, save_capture
from ccmatrix.diff import normalize_body
from ccmatrix.emulator import EmulatedRequest, respond

# client headers worth keeping in a capture (the rest is transport, auth or per-run)
KEPT_HEADERS = ("anthropic-beta", "anthropic-version", "content-type", "x-app")


@dataclass(frozen=True)
class Scenario:
    """How to make the CLI produce one row's traffic, and which requests are the row."""

    id: str
    prompt: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # appended to the tier's alias for --model, e.g. "[1m]" for the 1M-context beta
    model_suffix: str = ""
    # break every streamed answer, so the CLI falls back to a non-streaming request
    break_streams: bool = False
    # which captured requests belong to the scenario (others: side requests such as
    # the CLI's quota probe or title generation). Default: the tier's model, streaming.
    keep: Callable[[dict[str, Any], str], bool] = lambda body, model: body.get("model") == model and bool(body.get("stream"))
    # files the CLI's Read tool is pointed at, made in its working directory
    workspace: tuple[str, ...] = ()
    # give the CLI ccmatrix's stub MCP server (ccmatrix/mcp_stub.py)
    mcp: bool = False
    # turns the live harness sends as plain HTTP probes, derived from the CLI's own
    # captured requests (so they carry Claude Code's real system prompt and tools)
    probes: tuple[str, ...] = ()
    # the CLI's requests are only the material for the probes (count_tokens)
    probes_only: bool = False


def directive(**steps: Any) -> str:
    """The line that scripts the emulator's replies (see ccmatrix/emulator/plan.py)."""
    return "ccmatrix-directive: " + json.dumps(steps, separators=(",", ":"))


_BASIC = "Reply with one short sentence about tea."
WORKDIR = Path(tempfile.gettempdir()) / "ccmatrix-capture" / "work"
_ECHO = {"tool_use": {"name": "Bash", "input": {"command": "echo ccmatrix-tool-use", "description": "Print a marker"}}}
JSON_SCHEMA = '{"type":"object","properties":{"city":{"type":"string"},"population":{"type":"integer"}},"required":["city","population"]}'

SCENARIOS: dict[str, Scenario] = {
    s.id: s
    for s in (
        Scenario("basic_messaging_streaming", _BASIC),
        Scenario("basic_messaging_non_streaming", _BASIC, break_streams=True,
                 keep=lambda body, model: body.get("model") == model and not body.get("stream")),
        Scenario("tool_use", "Run the shell command `echo ccmatrix-tool-use` and tell me what it printed.\n"
                 + directive(**_ECHO), args=("--allowedTools", "Bash")),
        Scenario("thinking", "Think it through, then answer: what is 17 * 23?", args=("--effort", "max")),
        Scenario("thinking_with_tool_use", "Think first, then run `echo ccmatrix-tool-use` and report the output.\n"
                 + directive(**_ECHO), args=("--allowedTools", "Bash", "--effort", "high")),
        Scenario("vision", "Describe the image ccmatrix-test.png in this folder in one sentence.\n"
                 + directive(tool_use={"name": "Read", "input": {"file_path": str(WORKDIR / "ccmatrix-test.png")}}),
                 args=("--allowedTools", "Read"), workspace=("ccmatrix-test.png",)),
        Scenario("pdf_input", "Summarize the PDF ccmatrix-test.pdf in this folder in one sentence.\n"
                 + directive(tool_use={"name": "Read", "input": {"file_path": str(WORKDIR / "ccmatrix-test.pdf")}}),
                 args=("--allowedTools", "Read"), workspace=("ccmatrix-test.pdf",)),
        Scenario("prompt_caching_1h", _BASIC, env={"ENABLE_PROMPT_CACHING_1H": "1"}),
        Scenario("web_search", "Search the web for the ccmatrix compatibility matrix and summarize one result.\n"
                 + directive(tool_use={"name": "WebSearch", "input": {"query": "ccmatrix compatibility matrix"}}),
                 args=("--allowedTools", "WebSearch"),
                 # the WebSearch tool runs as a nested request that carries the server tool
                 keep=lambda body, model: bool(body.get("stream")) and body.get("model") in (model, "claude-haiku-4-5")),
        Scenario("structured_outputs", "Name one large city and its population.", args=("--json-schema", JSON_SCHEMA)),
        Scenario("long_context_1m", _BASIC, model_suffix="[1m]"),
        Scenario("count_tokens", _BASIC, probes=("count_tokens",), probes_only=True),
        Scenario("tool_search", "Find a tool that can look up the weather, then say which one you found.\n"
                 + directive(tool_use={"name": "ToolSearch",
                                       "input": {"query": "select:mcp__ccmatrix__ccmatrix_weather_lookup", "max_results": 5}}),
                 args=("--allowedTools", "ToolSearch"), mcp=True,
                 # the CLI only enables tool search on first-party hosts unless told to
                 env={"ENABLE_TOOL_SEARCH": "true"}, probes=("tool_search",)),
    )
}

TOOL_SEARCH_BETA = "advanced-tool-use-2025-11-20"


def _count_tokens_probe(turns: list[ClientTurn]) -> ClientTurn:
    """What Claude Code sends to size its context: /v1/messages/count_tokens."""
    body = {k: turns[0].body[k] for k in ("model", "messages", "system", "tools") if k in turns[0].body}
    return ClientTurn(method="POST", path="/v1/messages/count_tokens?beta=true", headers=turns[0].headers, body=body)


def _tool_search_probe(turns: list[ClientTurn]) -> ClientTurn:
    """The live harness's plain-HTTP probe: the server-side regex tool search tool
    over deferred tools (the CLI's own turns use its client-side ToolSearch)."""
    last = turns[-1].body
    deferred = [t for t in last.get("tools", []) if t.get("defer_loading")]
    betas = turns[-1].headers.get("anthropic-beta", "")
    headers = {**turns[-1].headers, "anthropic-beta": betas if TOOL_SEARCH_BETA in betas else f"{betas},{TOOL_SEARCH_BETA}"}
    body = {
        "model": last["model"],
        "max_tokens": 1024,
        "stream": True,
        "tools": [{"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}, *deferred],
        "messages": [{"role": "user", "content": "Which tool can look up the weather? Search for it."}],
    }
    return ClientTurn(method="POST", path="/v1/messages?beta=true", headers=headers, body=body)


PROBES: dict[str, Callable[[list[ClientTurn]], ClientTurn]] = {
    "count_tokens": _count_tokens_probe,
    "tool_search": _tool_search_probe,
}


def make_workspace_file(name: str, directory: Path) -> Path:
    """Small, deterministic files for the Read tool: a PNG and a one-page PDF."""
    path = directory / name
    if name.endswith(".png"):
        path.write_bytes(_png(8, 8))
    elif name.endswith(".pdf"):
        path.write_bytes(_pdf("ccmatrix test document: synthetic PDF input."))
    else:
        raise ValueError(f"no generator for workspace file {name!r}")
    return path


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"".join(bytes((x * 32 % 256, y * 32 % 256, 128)) for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@dataclass
class CapturedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class CaptureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, break_streams: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _CaptureHandler)
        self.break_streams = break_streams
        self.requests: list[CapturedRequest] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "CaptureServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


class _CaptureHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CaptureServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append(CapturedRequest(self.command, self.path, headers, body))
        answer = respond(EmulatedRequest(self.command, "api.anthropic.com", self.path, headers, body))
        streamed = answer.headers.get("content-type", "").startswith("text/event-stream")
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        if streamed and self.server.break_streams:
            # a stream that dies after its first event: the CLI's cue to retry non-streaming
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(answer.chunks[0])
            self.wfile.flush()
            self.close_connection = True
            return
        data = answer.body
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET = _handle


def capture(scenario: Scenario, tier: catalog.Tier, cli: Path | None = None, timeout: float = 180) -> ClientCapture:
    cli = cli or install()
    # A fixed working directory: the CLI puts its path into the system prompt, and a
    # random one would make every re-capture differ for no reason.
    tmp = WORKDIR.parent
    shutil.rmtree(tmp, ignore_errors=True)
    home = tmp / "home"
    home.mkdir(parents=True)
    WORKDIR.mkdir(parents=True)
    for name in scenario.workspace:
        make_workspace_file(name, WORKDIR)
    args = list(scenario.args)
    if scenario.mcp:
        config = tmp / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"ccmatrix": {
            "command": sys.executable, "args": ["-m", "ccmatrix.mcp_stub"]}}}))
        args += ["--mcp-config", str(config), "--strict-mcp-config"]
    with CaptureServer(scenario.break_streams) as server:
        cmd = [str(cli), "-p", scenario.prompt, "--model", tier.alias + scenario.model_suffix,
               "--output-format", "stream-json", "--verbose", *args]
        proc = subprocess.run(cmd, env=offline_env(server.url, home, scenario.env), cwd=WORKDIR,
                              capture_output=True, text=True, timeout=timeout)
        kept = [r for r in server.requests if r.path.startswith("/v1/messages") and _keep(scenario, r, tier.alias)]
        if not kept:
            seen = ", ".join(f"{r.method} {r.path}" for r in server.requests) or "none"
            raise ClaudeCliError(
                f"capture {scenario.id}/{tier.id}: the CLI sent no request of the scenario "
                f"(exit {proc.returncode}; requests seen: {seen}; stderr: {proc.stderr[-500:]})"
            )
        turns = [
            ClientTurn(method=r.method, path=r.path, headers={k: v for k, v in r.headers.items() if k in KEPT_HEADERS},
                       body=normalize_body(json.loads(r.body)))
            for r in kept
        ]
        probes = [PROBES[name](turns) for name in scenario.probes]
        turns = probes if scenario.probes_only else turns + probes
        return ClientCapture(
            scenario=scenario.id,
            tier=tier.id,
            provenance={
                "claude_code_version": version(cli),
                "command": ["claude", *cmd[1:]],
                "env": scenario.env,
                "captured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            turns=turns,
        )


def _keep(scenario: Scenario, request: CapturedRequest, model: str) -> bool:
    try:
        body = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(body, dict) and scenario.keep(body, model)


def capture_all(scenarios: list[str], tiers: list[catalog.Tier], root: Path = catalog.DEFAULT_CASSETTE_DIR,
                on_done: Callable[[Path], None] | None = None) -> list[Path]:
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise catalog.CatalogError(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    cli = install()
    written = []
    for name in scenarios:
        for tier in tiers:
            path = save_capture(capture(SCENARIOS[name], tier, cli), root)
            written.append(path)
            if on_done:
                on_done(path)
    return written
