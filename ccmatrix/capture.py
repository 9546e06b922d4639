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
    # break every streamed answer, so the CLI falls back to a non-streaming request
    break_streams: bool = False
    # which captured requests belong to the scenario (others: side requests)
    keep: Callable[[dict[str, Any], str], bool] = lambda body, model: body.get("model") == model


SCENARIOS: dict[str, Scenario] = {
    "basic_messaging_streaming": Scenario(
        id="basic_messaging_streaming",
        prompt="Reply with one short sentence about tea.",
        keep=lambda body, model: body.get("model") == model and body.get("stream") is True,
    ),
    "basic_messaging_non_streaming": Scenario(
        id="basic_messaging_non_streaming",
        prompt="Reply with one short sentence about tea.",
        break_streams=True,
        keep=lambda body, model: body.get("model") == model and not body.get("stream"),
    ),
}


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
    tmp = Path(tempfile.gettempdir()) / "ccmatrix-capture"
    shutil.rmtree(tmp, ignore_errors=True)
    home = tmp / "home"
    home.mkdir(parents=True)
    with CaptureServer(scenario.break_streams) as server:
        cmd = [str(cli), "-p", scenario.prompt, "--model", tier.alias, "--output-format", "stream-json", "--verbose",
               *scenario.args]
        proc = subprocess.run(cmd, env=offline_env(server.url, home, scenario.env), cwd=tmp,
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
