"""The capture tool against the real, pinned Claude Code CLI (offline, loopback).

What it captures now must have the shape of the committed captures: the
client side of every cassette comes from this tool, never from hand-written JSON.
"""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.client.capture import capture
from ccmatrix.client.capture_format import load_capture
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION, install, version
from ccmatrix.client.scenarios import SCENARIOS

pytestmark = [pytest.mark.claude_cli]


@pytest.fixture(scope="module")
def cli():
    return install()


def test_pinned_cli_is_installed(cli):
    assert version(cli) == CLAUDE_CODE_VERSION


@pytest.mark.parametrize("scenario", ["basic_messaging_streaming", "basic_messaging_non_streaming"])
def test_capture_matches_the_committed_one(cli, scenario):
    tier = catalog.tier("sonnet")
    fresh = capture(SCENARIOS[scenario], tier, cli)
    committed = load_capture(scenario, tier.id)
    assert [t.path for t in fresh.turns] == [t.path for t in committed.turns]
    assert fresh.turns[0].headers == committed.turns[0].headers
    body, old = fresh.turns[0].body, committed.turns[0].body
    assert list(body) == list(old)
    for key in ("model", "max_tokens", "thinking", "output_config", "stream", "context_management"):
        assert body.get(key) == old.get(key), key
    assert [t["name"] for t in body["tools"]] == [t["name"] for t in old["tools"]]
    assert body["system"][0]["text"] == "<per-call>"  # the billing line, normalized
    assert body["metadata"]["user_id"] == "<per-call>"


def test_tool_use_scenario_keeps_every_turn(cli):
    """Multi-turn: the emulator answers with tool_use, the CLI runs Bash and sends the result back."""
    fresh = capture(SCENARIOS["tool_use"], catalog.tier("haiku"), cli)
    assert len(fresh.turns) == 2
    second = fresh.turns[1].body["messages"]
    tool_use = [b for b in second[-2]["content"] if b["type"] == "tool_use"]
    tool_result = [b for b in second[-1]["content"] if b["type"] == "tool_result"]
    assert tool_use and tool_result and tool_result[0]["tool_use_id"] == tool_use[0]["id"]
    assert "ccmatrix-tool-use" in str(tool_result[0]["content"])  # the CLI really ran the command
