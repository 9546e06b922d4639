"""The live harness's GPT-5.6 columns as catalog data (issue 23): which cells they have,
how LiteLLM is configured for them, what the matrix shows where they do not run, how the
emulator routes their hosts, and how their answers are read back."""

from __future__ import annotations

import json

import pytest

from ccmatrix import catalog
from ccmatrix.emulator import EmulatedRequest, openai_chat, openai_responses, respond
from ccmatrix.emulator.plan import plan_reply
from ccmatrix.proxy.litellm_config import build_config
from ccmatrix.verdict.results import CellResult, matrix_rows
from ccmatrix.wire.messages import from_openai_chat_stream, from_openai_response, from_openai_response_stream

GPT = ("openai", "azure_openai", "bedrock_mantle", "vertex_ai_gpt")
ROWS = ("basic_messaging_non_streaming", "basic_messaging_streaming", "tool_use", "tool_use_streaming")


def test_the_nine_columns_in_the_harness_order_and_the_published_five_by_default():
    assert [p.id for p in catalog.column_providers(catalog.Columns.ALL)] == [
        "anthropic", "bedrock_invoke", "bedrock_converse", "vertex_ai", "azure", *GPT]
    assert [p.id for p in catalog.column_providers()] == [p.id for p in catalog.PROVIDERS]
    assert {c.provider.id for c in catalog.select()} == {p.id for p in catalog.PROVIDERS}
    assert len(catalog.select()) == 225  # the published view's cell tiers, as before the GPT columns


def test_each_gpt_column_runs_four_rows_on_sol_terra_luna_and_vertex_is_not_applicable():
    cells = [c for c in catalog.select(columns=catalog.Columns.ALL) if c.provider.id in GPT]
    for provider in GPT:
        mine = [c for c in cells if c.provider.id == provider]
        assert len(mine) == 12, provider
        assert {c.feature.id for c in mine} == set(ROWS)
        assert {c.tier.id for c in mine} == {"sol", "terra", "luna"}
    assert {c.proxy_model for c in cells if c.tier.id == "luna"} >= {
        "gpt-5-6-luna-openai", "gpt-5-6-luna-azure-openai", "gpt-5-6-luna-bedrock-mantle"}
    vertex = [c for c in cells if c.provider.id == "vertex_ai_gpt"]
    assert all("does not offer OpenAI's closed-weight GPT-5.6" in c.not_applicable_reason for c in vertex)
    assert not any(c.not_applicable_reason for c in cells if c.provider.id != "vertex_ai_gpt")


def test_a_cell_tier_id_names_a_tier_of_its_provider():
    assert catalog.CellTier.parse("tool_use/openai/sol").model_id == "gpt-5.6-sol"
    with pytest.raises(catalog.CatalogError, match="openai runs the tiers sol, terra, luna"):
        catalog.CellTier.parse("tool_use/openai/haiku")
    with pytest.raises(catalog.CatalogError, match="anthropic runs the tiers haiku, sonnet, opus"):
        catalog.CellTier.parse("tool_use/anthropic/sol")


def test_litellm_gets_a_deployment_per_gpt_tier_as_the_harness_names_them():
    config = build_config(list(catalog.ALL_PROVIDERS))
    params = {m["model_name"]: m["litellm_params"] for m in config["model_list"]}
    assert params["gpt-5-6-sol-openai"] == {"model": "openai/gpt-5.6-sol", "api_key": "os.environ/OPENAI_API_KEY"}
    assert params["gpt-5-6-terra-azure-openai"]["model"] == "azure/gpt-5.6-terra"
    assert params["gpt-5-6-terra-azure-openai"]["api_base"] == "os.environ/AZURE_OPENAI_API_BASE"
    assert params["gpt-5-6-luna-bedrock-mantle"]["model"] == "bedrock_mantle/openai.gpt-5.6-luna"
    assert not [name for name in params if name.endswith("-vertex-ai")]  # not applicable: no deployment
    assert len(params) == 15 + 9
    assert len(build_config()["model_list"]) == 15  # the published five only, by default


def test_rows_a_column_does_not_back_are_not_tested_with_the_harness_reason():
    ran = CellResult(feature="tool_use", provider="openai", status="pass")
    rows, _ = matrix_rows({("tool_use", "openai"): ran}, catalog.column_providers(catalog.Columns.ALL))
    by_id = {r.id: r for r in rows}
    assert by_id["tool_use"].cells["openai"] is ran
    thinking = by_id["thinking"].cells["openai"]
    assert thinking.status == "not_tested" and "basic messaging and tool use only" in thinking.reason
    assert by_id["thinking"].cells["anthropic"].reason == "not selected in this run"
    assert list(matrix_rows({})[0][0].cells) == [p.id for p in catalog.PROVIDERS]  # the published view


# ---------------------------------------------------------------- the emulator's routes


def _request(host: str, path: str, body: dict, **headers: str) -> EmulatedRequest:
    return EmulatedRequest("POST", host, path, {"content-type": "application/json", **headers},
                           json.dumps(body).encode())


RESPONSES_BODY = {"model": "gpt-5.6-sol", "input": [{"role": "user", "content": "Reply with pong"}],
                  "max_output_tokens": 100}


@pytest.mark.parametrize("host,path,auth", [
    ("api.openai.com", "/v1/responses", {"authorization": "Bearer sk-proj-x"}),
    ("ccmatrix-openai.openai.azure.com", "/openai/responses?api-version=2025-04-01-preview", {"api-key": "k"}),
    ("bedrock-mantle.us-east-1.api.aws", "/openai/v1/responses", {"authorization": "Bearer ABSK"}),
])
def test_each_gpt_host_answers_the_responses_api_and_refuses_a_request_without_credentials(host, path, auth):
    answered = respond(_request(host, path, RESPONSES_BODY, **auth))
    assert answered.status == 200 and json.loads(answered.body)["object"] == "response"
    refused = respond(_request(host, path, RESPONSES_BODY))
    assert refused.status == 401 and json.loads(refused.body)["error"]["code"] == "invalid_api_key"


def test_bedrock_mantle_keeps_its_anthropic_count_tokens_route_beside_the_openai_ones():
    counted = respond(_request("bedrock-mantle.us-east-1.api.aws", "/anthropic/v1/messages/count_tokens",
                               {"model": "anthropic.claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]},
                               authorization="AWS4-HMAC-SHA256 Credential=AKIA/20261207/us-east-1/bedrock/aws4_request"))
    assert counted.status == 200 and "input_tokens" in json.loads(counted.body)


def test_an_azure_deployment_s_chat_completions_route_takes_the_deployment_as_the_model():
    body = {"messages": [{"role": "user", "content": "Reply with pong"}], "max_completion_tokens": 100}
    answered = respond(_request("ccmatrix-openai.openai.azure.com",
                                "/openai/deployments/gpt-5.6-terra/chat/completions?api-version=2025-04-01-preview",
                                body, **{"api-key": "k"}))
    assert answered.status == 200 and json.loads(answered.body)["model"].startswith("gpt-5.6-terra")


def test_a_request_openai_refuses_gets_openai_s_error_body_naming_the_field():
    body = {**RESPONSES_BODY, "output_config": {"effort": "max"}}
    refused = respond(_request("api.openai.com", "/v1/responses", body, authorization="Bearer sk-proj-x"))
    assert refused.status == 400
    assert json.loads(refused.body)["error"] == {"message": "Unknown parameter: 'output_config'.",
                                                  "type": "invalid_request_error", "param": "output_config",
                                                  "code": "unknown_parameter"}


# ---------------------------------------------------------------- answers read back (the wire checks' side)

TOOL_TURN = {**RESPONSES_BODY, "input": [{"role": "user", "content": "Use the Bash tool to run the command `echo pong`"}],
             "tools": [{"type": "function", "name": "Bash", "parameters": {"type": "object", "properties": {
                 "command": {"type": "string"}}}}], "include": ["reasoning.encrypted_content"]}


def test_a_responses_answer_reads_back_as_the_tool_call_claude_code_gets():
    request = _request("api.openai.com", "/v1/responses", TOOL_TURN)
    plan = plan_reply(openai_responses.conversation(request, TOOL_TURN))
    whole = from_openai_response(openai_responses.render_response(plan, TOOL_TURN))
    streamed = from_openai_response_stream(b"".join(openai_responses.sse_chunks(
        openai_responses.render_events(plan, TOOL_TURN))))
    for message in (whole, streamed):
        (call,) = [b for b in message.content if b["type"] == "tool_use"]
        assert call["name"] == "Bash" and call["input"]["command"] == "echo pong" and call["id"].startswith("call_")
        assert message.stop_reason == "tool_use" and message.opaque_reasoning
        assert message.usage["output_tokens"] > 0
    assert streamed.content == whole.content and streamed.event_count > 5


def test_a_stream_cut_before_response_completed_keeps_what_it_finished_and_says_so():
    request = _request("api.openai.com", "/v1/responses", TOOL_TURN)
    chunks = openai_responses.sse_chunks(openai_responses.render_events(
        plan_reply(openai_responses.conversation(request, TOOL_TURN)), TOOL_TURN))
    cut = from_openai_response_stream(b"".join(chunks[:-1]))
    assert cut.stream_problems == ["the stream ended before response.completed"] and cut.stop_reason is None


def test_chat_completion_chunks_reassemble_the_tool_call_split_mid_json():
    body = {"model": "gpt-5.6-sol", "messages": TOOL_TURN["input"], "stream": True,
            "stream_options": {"include_usage": True}, "tools": [{"type": "function", "function": {
                "name": "Bash", "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]}
    request = _request("api.openai.com", "/v1/chat/completions", body)
    plan = plan_reply(openai_chat.conversation(request, body, "gpt-5.6-sol"))
    chunks = openai_chat.render_chunks(plan, include_usage=True)
    pieces = [c["choices"][0]["delta"]["tool_calls"][0]["function"].get("arguments", "") for c in chunks
              if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert len([p for p in pieces if p]) > 1, "the emulator streams the arguments in pieces"
    message = from_openai_chat_stream(b"".join(openai_chat.sse_chunks(chunks)))
    (call,) = [b for b in message.content if b["type"] == "tool_use"]
    assert call["input"]["command"] == "echo pong" and message.stop_reason == "tool_use"
    assert message.usage["output_tokens"] > 0
