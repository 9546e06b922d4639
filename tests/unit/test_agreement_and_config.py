"""The agreement figure against a published matrix, and the proxy configs a run can use."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.proxy import litellm_config
from ccmatrix.report.agreement import compare, environment_fault, render
from ccmatrix.report.matrix_json import MatrixV1

REFERENCE = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"


@pytest.fixture
def published() -> dict:
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is not beside the checkout")
    return json.loads(REFERENCE.read_text())


def test_a_matrix_agrees_with_itself_leaving_out_live_environment_faults(published):
    same = compare(MatrixV1.model_validate(published), MatrixV1.model_validate(published))
    assert same.agreed == same.judged and not same.disagreements
    # the published 1.93.0 run had no Azure deployments: 14 Azure cells say so, and are left out
    faults = [c for c, why in same.left_out.items() if "environment" in why]
    assert len(faults) == 14 and all(c.endswith("/azure") for c in faults)
    assert render(same).startswith(f"agreement: {same.judged}/{same.judged} cells (100%)")


def test_disagreements_are_listed_with_both_errors(published):
    ours = copy.deepcopy(published)
    ours["features"][0]["providers"]["anthropic"] = {"status": "fail", "error": "[claude-haiku-4-5] broken"}
    ours["features"][1]["providers"]["vertex_ai"] = {"status": "not_tested"}
    result = compare(MatrixV1.model_validate(ours), MatrixV1.model_validate(published))
    assert [(d.cell, d.ours, d.published) for d in result.disagreements] == [
        ("basic_messaging_non_streaming/anthropic", "fail", "pass")]
    assert result.left_out["basic_messaging_streaming/vertex_ai"].startswith("not judged")
    text = render(result)
    assert "basic_messaging_non_streaming/anthropic: ccmatrix fail, published pass" in text and "broken" in text


def test_agreement_says_when_the_two_setups_differ(published):
    """Like with like: the same LiteLLM and Claude Code releases on both sides, or a warning
    naming what differs (a verdict can depend on the Claude Code release alone)."""
    same = compare(MatrixV1.model_validate(published), MatrixV1.model_validate(published))
    assert same.unlike == [] and "warning" not in render(same)
    ours = {**copy.deepcopy(published), "litellm_version": "1.93.0", "claude_code_version": "2.1.332"}
    other = compare(MatrixV1.model_validate(ours), MatrixV1.model_validate(published))
    assert other.unlike == ["Claude Code 2.1.332 here, 2.1.126 published"]  # "v1.93.0" is 1.93.0
    assert "warning: not like with like (Claude Code 2.1.332 here, 2.1.126 published)" in render(other)


@pytest.mark.parametrize("error, fault", [
    ("[m] claude CLI failed: exit=1; api_status=404; text=There's an issue with the selected model (m).", True),
    ("[m] claude CLI timed out after 120.0s", True),
    ("[m] count_tokens probe failed: status 429: rate limited", True),
    ("[m] Your credit balance is too low to access the Anthropic API", True),
    ("[m] claude CLI failed: exit=1; text=API Error: Content block is not a text block", False),
])
def test_environment_fault_patterns(error, fault):
    assert (environment_fault(error) is not None) is fault


def test_the_default_config_carries_the_live_harness_settings():
    config = litellm_config.default_config()
    assert config.document["general_settings"]["forward_client_headers_to_llm_api"] is True
    assert config.document["litellm_settings"]["drop_params"] is True
    assert config.document["litellm_settings"]["modify_params"] is True
    assert config.label == litellm_config.DEFAULT_LABEL
    assert all(config.serves(c) for c in catalog.select())
    assert "LITELLM_MASTER_KEY" in config.env_names()


def test_a_user_config_serves_the_cells_it_names(tmp_path: Path):
    path = tmp_path / "proxy.yaml"
    path.write_text(yaml.safe_dump({
        "model_list": [{"model_name": "claude-haiku-4-5-bedrock-invoke",
                        "litellm_params": {"model": "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
                                           "aws_bearer_token": "os.environ/MY_BEDROCK_TOKEN"}}],
        "general_settings": {"master_key": "sk-theirs"},
    }))
    config = litellm_config.load_user_config(path)
    assert config.label == "proxy.yaml"
    assert config.serves(catalog.CellTier.parse("basic_messaging_streaming/bedrock_invoke/haiku"))
    assert not config.serves(catalog.CellTier.parse("basic_messaging_streaming/bedrock_invoke/sonnet"))
    assert config.document["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert "MY_BEDROCK_TOKEN" in config.env_names()


@pytest.mark.parametrize("content, where", [
    ("model_list: [", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping at the top level"),
    ("general_settings: {}\n", "model_list: expected a non-empty list"),
    ("model_list:\n  - litellm_params: {model: x}\n", "model_list[0].model_name: missing"),
    ("model_list:\n  - model_name: m\n    litellm_params: {}\n", "model_list[0].litellm_params.model: missing"),
    ("model_list:\n  - model_name: m\n    litellm_params: {model: x}\nlitellm_settings: [1]\n",
     "litellm_settings: expected a mapping"),
])
def test_a_broken_user_config_names_the_file_and_the_key(tmp_path: Path, content, where):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(litellm_config.ProxyConfigError) as err:
        litellm_config.load_user_config(path)
    assert str(err.value).startswith(f"{path}: ") and where in str(err.value)
    with pytest.raises(litellm_config.ProxyConfigError, match="no such file"):
        litellm_config.load_user_config(tmp_path / "absent.yaml")
