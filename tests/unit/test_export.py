"""What `ccmatrix export` writes (issue 24), read back as its users read it: the provider
leg by vcrpy's own loader, byte for byte; the expectations a red cell is judged by."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.export import ExportError, export_cell

ROOT = catalog.DEFAULT_CASSETTE_DIR


# Haiku's Bedrock model id (`...-v1:0`) is percent-encoded in the path (`...-v1%3A0`)
@pytest.mark.parametrize("cell_id", ["thinking/bedrock_invoke/opus", "tool_use_streaming/bedrock_converse/sonnet",
                                     "thinking/vertex_ai/opus", "tool_use_streaming/openai/sol",
                                     "thinking/bedrock_invoke/haiku", "web_search/bedrock_converse/haiku"])
def test_the_provider_leg_is_a_vcrpy_cassette_with_every_body_intact(cell_id, tmp_path):
    cell = catalog.CellTier.parse(cell_id)
    export_cell(cell, ROOT, CLAUDE_CODE_VERSION, tmp_path)
    requests, responses = deserialize((tmp_path / "provider_leg.yaml").read_text(), yamlserializer)
    recorded = [i for i in cassettes.load(cell.cassette_path(ROOT, CLAUDE_CODE_VERSION), ROOT).interactions
                if cell.model_id in unquote(i.request.url) or (i.request.body and isinstance(i.request.body.json_, dict)
                                                               and i.request.body.json_.get("model") == cell.model_id)]
    assert recorded
    assert [r.uri for r in requests] == [i.request.url for i in recorded]
    for response, interaction in zip(responses, recorded):
        body = response["body"]["string"]
        assert (body.encode() if isinstance(body, str) else body) == interaction.response.content()
        assert response["status"]["code"] == interaction.response.status


def test_the_expectations_name_the_rows_load_bearing_fields_as_recorded(tmp_path):
    export_cell(catalog.CellTier.parse("thinking/bedrock_invoke/opus"), ROOT, CLAUDE_CODE_VERSION, tmp_path)
    expected = json.loads((tmp_path / "expected.json").read_text())
    assert expected["deployment"] == {"model": "bedrock/invoke/us.anthropic.claude-opus-4-7",
                                      "aws_region_name": "us-east-1"}
    assert set(expected["environment"]) == {"AWS_BEARER_TOKEN_BEDROCK"}  # throwaway, the live harness's mode
    (request,) = expected["requests"]
    assert request["fields"]["body.output_config.effort"] == "max"
    assert request["fields"]["path"].endswith("/invoke-with-response-stream")
    assert expected["criteria"] == ["thinking_block"]
    assert all(turn["body"]["model"] == "claude-opus-4-7-bedrock-invoke" for turn in expected["turns"])
    # the headers the proxy passes on under the live harness's forward_client_headers_to_llm_api
    headers = expected["turns"][0]["headers"]
    assert "anthropic-beta" in headers and headers["x-app"] == "cli"
    assert not [name for name in headers if name == "authorization" or name.startswith("x-stainless")]
    source = next(tmp_path.glob("test_*.py")).read_text()
    assert "import ccmatrix" not in source and "from ccmatrix" not in source  # it needs nothing of ccmatrix
    compile(source, "exported", "exec")


def test_each_expected_request_names_its_conversation_as_the_replay_does(tmp_path):
    """The exported test pairs LiteLLM's requests with the recorded ones by conversation and
    turn, as the replay does (recorder/match.py): a Claude Code cell's turns are one conversation."""
    export_cell(catalog.CellTier.parse("web_search/bedrock_invoke/sonnet"), ROOT, CLAUDE_CODE_VERSION, tmp_path)
    requests = json.loads((tmp_path / "expected.json").read_text())["requests"]
    assert [r["turns"] for r in requests] == [1, 3, 5]
    (prompt, whole), *rest = [r["conversation"] for r in requests]
    assert prompt and prompt in whole and " " not in whole and rest == [[prompt, whole]] * 2


def test_a_tool_rows_expectations_carry_the_tools_as_recorded(tmp_path):
    """The tools are load-bearing for the tool rows, leaf by leaf, as ccmatrix holds them
    (OpenAI's `strict: false`, which LiteLLM 1.93.0 leaves out: docs/gpt-columns.md)."""
    export_cell(catalog.CellTier.parse("tool_use_streaming/openai/sol"), ROOT, CLAUDE_CODE_VERSION, tmp_path)
    first = json.loads((tmp_path / "expected.json").read_text())["requests"][0]["fields"]
    assert first["body.tools[0].strict"] is False and first["body.stream"] is True
    assert not any(path.startswith("body.input") for path in first)  # the conversation is drift here


def test_a_probe_row_is_refused_and_nothing_is_written(tmp_path):
    with pytest.raises(ExportError, match="a probe row"):
        export_cell(catalog.CellTier.parse("count_tokens/anthropic/haiku"), ROOT, CLAUDE_CODE_VERSION,
                    tmp_path / "out")
    assert not (tmp_path / "out").exists()
