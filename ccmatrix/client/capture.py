"""The capture tool: what the real Claude Code CLI sends, for each scenario.

Runs the pinned `claude` CLI offline against the provider emulator, answering as
the Anthropic API (an `EmulatorServer` on loopback), records every request it
gets, and keeps the turns that make up the scenario. The result is the client
side of a cassette: `cassettes/clients/<scenario>/<tier>.json`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ccmatrix import catalog
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.cassette.redact import normalize_body
from ccmatrix.client.capture_format import CLIENT_HEADERS, ClientCapture, ClientTurn, save_capture
from ccmatrix.client.claude_cli import ClaudeCliError, install, offline_env, version
from ccmatrix.client.scenarios import PROBES, SCENARIOS, WORKDIR, Scenario
from ccmatrix.client.workspace import make_workspace_file
from ccmatrix.emulator import EmulatedRequest, EmulatedResponse, EmulatorServer, respond

# the CLI talks to ANTHROPIC_BASE_URL as if it were the first-party API
FIRST_PARTY_HOST = "api.anthropic.com"


def first_party(break_streams: bool) -> Callable[[EmulatedRequest], EmulatedResponse]:
    """The emulator answering as api.anthropic.com, whatever Host the CLI sent."""

    def answer(req: EmulatedRequest) -> EmulatedResponse:
        response = respond(dataclasses.replace(req, host=FIRST_PARTY_HOST))
        if break_streams and response.streamed:
            # a stream that dies after its first event: the CLI's cue to retry non-streaming
            response = dataclasses.replace(response, cut_after=1)
        return response

    return answer


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
            "command": sys.executable, "args": ["-m", "ccmatrix.client.mcp_stub"]}}}))
        args += ["--mcp-config", str(config), "--strict-mcp-config"]
    with EmulatorServer(responder=first_party(scenario.break_streams)) as server:
        cmd = [str(cli), "-p", scenario.prompt, "--model", tier.alias + scenario.model_suffix,
               "--output-format", "stream-json", "--verbose", *args]
        proc = subprocess.run(cmd, env=offline_env(server.url, home, scenario.env), cwd=WORKDIR,
                              capture_output=True, text=True, timeout=timeout)
        kept = [r for r in server.requests if r.route_path.startswith("/v1/messages") and _keep(scenario, r, tier.alias)]
        if not kept:
            seen = ", ".join(f"{r.method} {r.path}" for r in server.requests) or "none"
            raise ClaudeCliError(
                f"capture {scenario.id}/{tier.id}: the CLI sent no request of the scenario "
                f"(exit {proc.returncode}; requests seen: {seen}; stderr: {proc.stderr[-500:]})"
            )
    turns = [
        ClientTurn(method=r.method, path=r.path,
                   headers={k.lower(): v for k, v in r.headers.items() if k.lower() in CLIENT_HEADERS},
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


def _keep(scenario: Scenario, request: EmulatedRequest, model: str) -> bool:
    try:
        body = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(body, dict) and scenario.keep(body, model)


def capture_all(scenarios: list[str], tiers: list[catalog.Tier], root: Path = DEFAULT_CASSETTE_DIR,
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
