"""The GPT-5.6 columns replayed through the real LiteLLM and mitmdump (issue 23): the
command's nine-column view, a recording whose OpenAI request lost the tools (red, naming
the field), a stream whose tool-call arguments arrive cut mid-JSON (Claude Code still
gets the call), and every chunking of these columns' streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions
from tests.conftest import derive_cassette

pytestmark = pytest.mark.proxy
CCMATRIX = [sys.executable, "-m", "ccmatrix"]
GPT = ("openai", "azure_openai", "bedrock_mantle")
ROWS = ("basic_messaging_non_streaming", "basic_messaging_streaming", "tool_use", "tool_use_streaming")


def test_run_columns_all_judges_the_gpt_cells_in_the_nine_column_view(tmp_path):
    """`ccmatrix run --columns all`, its GPT columns selected (the published five are the
    main job's, tests/e2e/test_replay.py): 12 GPT cell tiers a row on the four rows they
    back, openai, azure_openai and bedrock_mantle judged as recorded, vertex_ai_gpt not
    applicable with the harness's reason, the rows they do not back not_tested; the
    published five shown beside them, not selected."""
    out = tmp_path / "out"
    columns = [arg for p in (*GPT, "vertex_ai_gpt") for arg in ("-p", p)]
    proc = subprocess.run([*CCMATRIX, "run", "--columns", "all", *columns, "--out", str(out)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "220"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    matrix = json.loads((out / "compatibility-matrix.json").read_text())
    assert matrix["providers"] == [p.id for p in catalog.column_providers(catalog.Columns.ALL)]
    features = {f["id"]: f["providers"] for f in matrix["features"]}
    for row in ROWS:
        for provider in GPT:
            cell = features[row][provider]
            assert cell["status"] == "pass", (row, provider, cell)
            assert sorted(cell["tiers"]) == ["luna", "sol", "terra"]
            for tier, judged in cell["tiers"].items():
                recorded = cassettes.load(catalog.CellTier.parse(f"{row}/{provider}/{tier}").cassette_path(
                    catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR).verdict
                assert judged["status"] == recorded.status
        vertex = features[row]["vertex_ai_gpt"]
        assert vertex["status"] == "not_applicable" and "closed-weight GPT-5.6" in vertex["reason"]
        assert all(features[row][p.id]["status"] == "not_tested" for p in catalog.PROVIDERS)
    thinking = features["thinking"]["openai"]
    assert thinking["status"] == "not_tested" and "basic messaging and tool use only" in thinking["reason"]
    assert "Mantle" in proc.stdout and "OpenAI" in proc.stdout  # the table's column headers


def _without_tools(doc):
    """Claude Code's requests to the proxy without their tools: LiteLLM's OpenAI request
    then carries none, where the recording's did."""
    for request in doc["client"]:
        request["body"]["json"].pop("tools", None)


def test_an_openai_request_that_lost_the_tools_turns_the_cell_red_naming_the_field(cassette_copy, litellm_env,
                                                                                      replay_stack):
    """On OpenAI (the Responses API whatever the request): the same route, the tools
    missing, named. (Azure OpenAI without tools, LiteLLM 1.110.2 takes Chat Completions
    instead: a new route, answered by the emulator, and the row's criterion fails.)"""
    cell = "tool_use/openai/sol"
    derive_cassette(cassette_copy, cell, _without_tools)
    result = runner.execute([catalog.CellTier.parse(cell)], litellm_env, RunOptions(root=cassette_copy),
                            stack=replay_stack)
    (tier,) = result.rows[2].cells["openai"].tiers
    assert tier.status == "fail" and tier.regressed
    assert "body.tools[0].name missing (recorded 'Agent')" in tier.error, tier.error
    assert "no tool_use content block" in tier.error or "no recorded request" in tier.error


def _arguments_cut_mid_json(doc):
    """The recorded Responses stream with each function_call_arguments.delta cut into
    three-character pieces (`{"c`, `omm`, ...), sequence numbers renumbered."""
    for interaction in doc["interactions"]:
        stream = interaction["response"].get("stream")
        if not stream:
            continue
        events = []
        for event in stream["events"]:
            data = event.get("data")
            if isinstance(data, dict) and data.get("type") == "response.function_call_arguments.delta":
                text = data["delta"]
                events += [{**event, "data": {**data, "delta": text[i:i + 3]}} for i in range(0, len(text), 3)]
            else:
                events.append(event)
        for n, event in enumerate(events):
            if isinstance(event.get("data"), dict) and "sequence_number" in event["data"]:
                event["data"]["sequence_number"] = n
        stream["events"] = events


def test_tool_call_arguments_cut_mid_json_still_reach_claude_code_as_one_call(cassette_copy, litellm_env,
                                                                             replay_stack):
    cells = [f"tool_use_streaming/{p}/terra" for p in GPT]
    for cell in cells:
        path = derive_cassette(cassette_copy, cell, _arguments_cut_mid_json)
        deltas = [e for i in cassettes.load(path, cassette_copy).interactions if i.response.stream
                  for e in i.response.stream.events
                  if isinstance(e.get("data"), dict) and e["data"].get("type") == "response.function_call_arguments.delta"]
        assert len(deltas) > 5 and not all(_parses(e["data"]["delta"]) for e in deltas), cell
    result = runner.execute([catalog.CellTier.parse(c) for c in cells], litellm_env, RunOptions(root=cassette_copy),
                            stack=replay_stack)
    for provider in GPT:
        (tier,) = result.rows[6].cells[provider].tiers
        assert tier.status == "pass", (provider, tier.error)  # tool_use_block and input_json_delta hold


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_every_chunking_replays_the_gpt_columns_streams_as_recorded(litellm_env, replay_stack):
    from ccmatrix.recorder.chunking import CHUNKINGS

    cells = [catalog.CellTier.parse(f"{row}/{p}/luna") for row in ("basic_messaging_streaming", "tool_use_streaming")
             for p in GPT]
    result = runner.execute(cells, litellm_env, RunOptions(chunkings=list(CHUNKINGS)), stack=replay_stack)
    tiers = {(t.feature, t.provider): t for c in result.cells() for t in c.tiers}
    assert len(tiers) == len(cells)
    for cell in cells:
        tier = tiers[(cell.feature.id, cell.provider.id)]
        assert tier.chunkings == list(CHUNKINGS) and tier.status == "pass", (cell.id, tier.error)


def test_litellm_1_83_14_loses_strict_false_on_openai_and_sends_mantle_a_field_openai_refuses():
    """What the GPT columns show on an older release (docs/gpt-columns.md): OpenAI's tools
    without `strict: false` (the Responses API then normalizes their schemas into strict
    mode), and Bedrock Mantle's Chat Completions request carrying Claude Code's
    `output_config`; Azure OpenAI's tool row stays green."""
    from ccmatrix.proxy.litellm_env import resolve

    cells = [catalog.CellTier.parse(c) for c in ("tool_use/openai/sol", "tool_use/azure_openai/sol",
                                                  "basic_messaging_non_streaming/bedrock_mantle/sol")]
    result = runner.execute(cells, resolve("1.83.14"), RunOptions(jobs=1))
    tiers = {t.provider: t for c in result.cells() for t in c.tiers}
    assert tiers["openai"].status == "fail" and "body.tools[0].strict missing (recorded false)" in tiers["openai"].error
    assert tiers["azure_openai"].status == "pass", tiers["azure_openai"].error
    mantle = tiers["bedrock_mantle"]
    assert mantle.status == "fail"
    assert "bedrock_mantle.known-fields: Unrecognized request argument supplied: output_config" in mantle.error
