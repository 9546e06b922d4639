"""The CLI client: the pinned Claude Code CLI, run as the live harness runs it, offline.

- Claude Code as its own oracle: how it assembles a stream whose block starts already
  carry text (what LiteLLM's Converse adapter sends) is measured on the real CLI, and
  ccmatrix's decoder must assemble it the same way.
- `--client cli` replays from the committed cassettes with the verdicts the captured
  client gives, and recording with it reproduces the committed cassettes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.catalog.features import CliRun
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION, install, version
from ccmatrix.client.cli_driver import run_cli
from ccmatrix.emulator import EmulatedResponse, EmulatorServer, respond
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions
from ccmatrix.wire.messages import from_sse
from ccmatrix.wire.sse import decode_sse, encode_sse_event

pytestmark = [pytest.mark.claude_cli, pytest.mark.proxy]

# one cell tier per provider, rows whose conversations differ in shape
SAMPLE = ["tool_use/anthropic/haiku", "thinking/bedrock_invoke/sonnet", "pdf_input/bedrock_converse/haiku",
          "vision/vertex_ai/opus", "structured_outputs/azure/sonnet", "count_tokens/vertex_ai/haiku"]


@pytest.fixture(scope="module")
def cli() -> Path:
    return install()


def test_the_pinned_cli_is_installed(cli):
    assert version(cli) == CLAUDE_CODE_VERSION


def _seeded(req):  # type: ignore[no-untyped-def]
    """The emulator as first party, but every text and thinking block opens with its first
    fragment already in content_block_start (LiteLLM 1.108.7's Converse adapter does this)."""
    res = respond(dataclasses.replace(req, host="api.anthropic.com"))
    if len(res.chunks) < 2:
        return res
    events = decode_sse(res.body)
    first: dict[int, str] = {}
    for e in events:
        d = e.get("data") or {}
        if d.get("type") == "content_block_delta" and d["delta"].get("type") in ("text_delta", "thinking_delta"):
            first.setdefault(d["index"], d["delta"].get("text", d["delta"].get("thinking", "")))
    for e in events:
        d = e.get("data") or {}
        block = d.get("content_block") or {}
        if d.get("type") == "content_block_start" and block.get("type") in ("text", "thinking") and d["index"] in first:
            block["text" if block["type"] == "text" else "thinking"] = first[d["index"]]
    return EmulatedResponse(res.status, res.headers, [encode_sse_event(e) for e in events])


def test_claude_code_builds_blocks_from_their_deltas_only(cli):
    """The evidence behind ccmatrix's stream assembly: Claude Code drops the text a
    content_block_start carries and keeps the deltas (the Anthropic SDK's accumulator would
    keep both), so a repeated first fragment is a finding, not a failure."""
    with EmulatorServer(responder=_seeded) as server:
        outcome = run_cli(cli, CliRun("Count from 1 to 5, one number per line.", ("--effort", "max")),
                          "anthropic", "claude-sonnet-4-6", server.url, "sk-ccmatrix-test")
        answers = [r for r in server.requests if r.route_path == "/v1/messages"]
        assert outcome.failure is None, outcome.failure
        seeded = _seeded(answers[-1])
    ours = from_sse(seeded.body)
    assert ours.start_text, "the stream does seed its block starts"
    thinking = [b["thinking"] for b in outcome.blocks if b.get("type") == "thinking"]
    assert thinking == [b["thinking"] for b in ours.content if b["type"] == "thinking"]
    assert outcome.text == ours.text
    assert not outcome.text.startswith(ours.start_text[max(ours.start_text)] * 2)


def test_cli_client_replays_with_the_captured_clients_verdicts(litellm_env, replay_stack):
    cells = [catalog.CellTier.parse(c) for c in SAMPLE]
    captured = runner.execute(cells, litellm_env, RunOptions(client="captured"), stack=replay_stack)
    by_cli = runner.execute(cells, litellm_env, RunOptions(client="cli"), stack=replay_stack)
    assert by_cli.client == "cli"
    for a, b in zip((t for c in captured.cells() for t in c.tiers), (t for c in by_cli.cells() for t in c.tiers)):
        assert (a.feature, a.provider, a.tier) == (b.feature, b.provider, b.tier)
        assert (a.status, b.status) == ("pass", "pass"), (a.error, b.error)
        assert b.client == ("probe" if catalog.feature(b.feature).probe else "cli")


def test_recording_with_the_cli_reproduces_the_committed_cassettes(tmp_path, litellm_env):
    root = tmp_path / "cassettes"
    shutil.copytree(catalog.DEFAULT_CASSETTE_DIR, root)
    cells = [catalog.CellTier.parse(c) for c in SAMPLE[:3]]
    result = runner.execute(cells, litellm_env, RunOptions(mode="emulate", root=root, client="cli"))
    assert all(t.status == "pass" for c in result.cells() for t in c.tiers)
    for cell in cells:
        old = json.loads(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION).read_text())
        new = json.loads(cell.cassette_path(root, CLAUDE_CODE_VERSION).read_text())
        assert new == old, f"{cell.id}: re-recording with the CLI changed the cassette"


def test_cli_client_run_from_the_command_line(tmp_path):
    """`ccmatrix run --client cli` on one cell: the matrix says which client ran."""
    import os
    import sys

    proc = subprocess.run([sys.executable, "-m", "ccmatrix", "run", "--client", "cli", "-f", "tool_use", "-p",
                           "anthropic", "-t", "haiku", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    matrix = json.loads((tmp_path / "compatibility-matrix.json").read_text())
    assert matrix["ccmatrix"]["client"] == "cli"
    tier = next(f for f in matrix["features"] if f["id"] == "tool_use")["providers"]["anthropic"]["tiers"]["haiku"]
    assert (tier["status"], tier["client"]) == ("pass", "cli")
