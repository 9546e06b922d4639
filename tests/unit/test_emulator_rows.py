"""The emulator's behaviours per Claude Code matrix row: directives (tool use),
web search, structured outputs, prompt caching, count_tokens, tool search and
the shapes providers reject. Judged by the official parsers: the anthropic SDK
(incl. stream accumulation) and botocore's bedrock-runtime model.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anthropic
import pytest

from ccmatrix.emulator import respond
from ccmatrix.emulator.plan import parse_directive, synthesize_from_schema
from ccmatrix.wire import decode_eventstream, decode_sse
from tests.unit.test_emulator import (  # noqa: F401  (fixtures)
    ANTHROPIC_HEADERS,
    HAIKU_BEDROCK,
    SIGV4,
    Recorder,
    assert_fully_parsed,
    bedrock_sdk,
    body_json,
    boto_bedrock,
    call,
    first_party,
    recorder,
    vertex,
)

BASH = {"name": "Bash", "description": "Run a shell command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}
DIRECTIVE = 'ccmatrix-directive: {"tool_use": {"name": "Bash", "input": {"command": "echo ccmatrix"}}}'
PROMPT = f"Run the command.\n{DIRECTIVE}\n"
# what the CLI sends: the prompt wrapped in other text blocks
FIRST_USER = {"role": "user", "content": [{"type": "text", "text": "<system-reminder>context</system-reminder>"}, {"type": "text", "text": PROMPT}]}
STEPS = 'ccmatrix-directive: {"steps": [{"tool_use": {"name": "Bash", "input": {"command": "echo one"}}}, {"tool_use": {"name": "Read", "input": {"file_path": "/tmp/x.png"}}}]}'
READ = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}
PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(b"\x89PNG synthetic").decode()}}
PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(b"%PDF-1.4 synthetic").decode()}}


def _tool_turns(tool_id: str, result: Any = "ccmatrix\n") -> list[dict]:
    return [
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": "echo ccmatrix"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": result}]},
    ]


# ---------------------------------------------------------------- directives


def test_parse_directive() -> None:
    assert parse_directive(PROMPT) == {"tool_use": {"name": "Bash", "input": {"command": "echo ccmatrix"}}}
    assert parse_directive('x ccmatrix-directive: {"steps": []} trailing words') == {"steps": []}
    assert parse_directive("no directive") is None
    assert parse_directive("ccmatrix-directive: {broken") is None


def test_directive_tool_use(first_party: anthropic.Anthropic) -> None:
    message = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[FIRST_USER], tools=[BASH])
    assert_fully_parsed(message)
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert (block.name, block.input) == ("Bash", {"command": "echo ccmatrix"})
    assert block.id.startswith("toolu_01") and len(block.id) == 30
    # thinking first when enabled; same id (content-derived), other message id (body-derived)
    thought = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=4096, messages=[FIRST_USER], tools=[BASH], thinking={"type": "adaptive"})
    assert [b.type for b in thought.content] == ["thinking", "tool_use"]
    assert thought.content[1].id == block.id and thought.id != message.id
    again = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=999, messages=[FIRST_USER], tools=[BASH], thinking={"type": "adaptive"})
    assert again.content[0].signature == thought.content[0].signature  # echoed back later: content-derived


def test_directive_tool_use_stream_accumulates(first_party: anthropic.Anthropic, recorder: Recorder) -> None:
    with first_party.messages.stream(model="claude-haiku-4-5", max_tokens=4096, messages=[FIRST_USER], tools=[BASH], thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert_fully_parsed(final)
    assert [b.type for b in final.content] == ["thinking", "tool_use"]
    assert final.content[1].input == {"command": "echo ccmatrix"} and final.stop_reason == "tool_use"
    pieces = [e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    # as recorded from the real API: an empty first fragment, then the model's spaced JSON
    assert pieces[0] == "" and 3 <= len(pieces) <= 4 and json.loads("".join(pieces)) == {"command": "echo ccmatrix"}
    sse = decode_sse(respond(recorder.requests[0]).body)
    start = [e["data"] for e in sse if e["event"] == "content_block_start"][1]
    assert start["content_block"] == {"type": "tool_use", "id": final.content[1].id, "name": "Bash", "input": {},
                                      "caller": {"type": "direct"}}


def test_directive_final_text_after_tool_result(first_party: anthropic.Anthropic) -> None:
    first = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[FIRST_USER], tools=[BASH])
    messages = [FIRST_USER, *_tool_turns(first.content[0].id)]
    final = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=messages, tools=[BASH])
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == "ccmatrix emulator: synthetic reply after 1 tool result(s) (sonnet)"
    for result, seen in (([PNG], "saw 1 image"), ([{"type": "text", "text": "p"}, PDF], "saw 1 document")):
        reply = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[FIRST_USER, *_tool_turns(first.content[0].id, result)], tools=[BASH])
        assert reply.content[0].text.endswith(seen)


def test_directive_steps(first_party: anthropic.Anthropic) -> None:
    user = {"role": "user", "content": STEPS}
    messages: list[dict] = [user]
    calls = []
    for _ in range(3):
        reply = first_party.messages.create(model="claude-opus-4-7", max_tokens=100, messages=messages, tools=[BASH, READ])
        if reply.stop_reason != "tool_use":
            break
        block = reply.content[0]
        calls.append((block.name, block.input))
        result = [PNG] if block.name == "Read" else "one"
        messages += [{"role": "assistant", "content": [block.model_dump(exclude_none=True)]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": result}]}]
    assert calls == [("Bash", {"command": "echo one"}), ("Read", {"file_path": "/tmp/x.png"})]
    assert reply.content[0].text == "ccmatrix emulator: synthetic reply after 2 tool result(s) (opus); saw 1 image"


def test_directive_needs_the_tool_offered(first_party: anthropic.Anthropic) -> None:
    # e.g. the CLI's side requests (titles) carry the prompt but no tools
    message = first_party.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=[FIRST_USER])
    assert message.stop_reason == "end_turn" and message.content[0].type == "text"


# Claude Code 2.1.332 offers WebSearch by name only (deferred behind its ToolSearch
# tool, whose description says `select:<tool_name>` fetches one); the CLI then answers
# with a tool_reference and offers the tool (recorded with the CLI against the emulator)
CLIENT_TOOL_SEARCH = {"name": "ToolSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}
PLACEHOLDER = {"name": "DeferredToolPlaceholder", "input_schema": {"type": "object", "properties": {}}, "defer_loading": True}


def test_a_deferred_tool_is_fetched_with_tool_search_first(first_party: anthropic.Anthropic) -> None:
    user = {"role": "user", "content": "Use web search to find a headline about Anthropic. Reply in one sentence."}
    first = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[user], tools=[BASH, CLIENT_TOOL_SEARCH, PLACEHOLDER])
    [search] = first.content
    assert (search.name, search.input) == ("ToolSearch", {"query": "select:WebSearch", "max_results": 1})
    fetched = [user, {"role": "assistant", "content": [search.model_dump(exclude_none=True)]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": search.id,
                                             "content": [{"type": "tool_reference", "tool_name": "WebSearch"}]}]}]
    web = {"name": "WebSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}, "defer_loading": True}
    second = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=fetched, tools=[BASH, CLIENT_TOOL_SEARCH, web, PLACEHOLDER])
    [call_] = second.content
    assert (call_.name, call_.input) == ("WebSearch", {"query": "a headline about Anthropic"})
    # not fetched again when the CLI could not load it: the conversation ends in text
    again = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=fetched, tools=[BASH, CLIENT_TOOL_SEARCH, PLACEHOLDER])
    assert again.stop_reason == "end_turn" and again.content[0].type == "text"


def _converse_tool(tool: dict) -> dict:
    return {"toolSpec": {"name": tool["name"], "inputSchema": {"json": tool.get("input_schema", {"type": "object"})}}}


def _shapes(messages: list[dict], converse_messages: list[dict], tools: list[dict]) -> dict[str, tuple[str, str, dict, dict]]:
    """The same conversation as each provider's upstream request (host, path, body, headers)."""
    base = {"max_tokens": 1000, "messages": messages, "tools": tools}
    bedrock = "bedrock-runtime.us-east-1.amazonaws.com"
    return {
        "anthropic": ("api.anthropic.com", "/v1/messages?beta=true", {"model": "claude-sonnet-4-6", "stream": True, **base}, ANTHROPIC_HEADERS),
        "azure": ("r.services.ai.azure.com", "/anthropic/v1/messages", {"model": "claude-sonnet-4-6", **base}, {"api-key": "k"}),
        "vertex_ai": (
            "us-east5-aiplatform.googleapis.com",
            "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-6:rawPredict",
            {"anthropic_version": "vertex-2023-10-16", **base},
            {"Authorization": "Bearer t"},
        ),
        "bedrock_invoke": (bedrock, "/model/us.anthropic.claude-sonnet-4-6/invoke-with-response-stream", {"anthropic_version": "bedrock-2023-05-31", **base}, SIGV4),
        "bedrock_converse": (
            bedrock,
            "/model/us.anthropic.claude-sonnet-4-6/converse",
            {"messages": converse_messages, "toolConfig": {"tools": [_converse_tool(t) for t in tools]}, "inferenceConfig": {"maxTokens": 1000}},
            SIGV4,
        ),
    }


def _tool_ids(name: str, res) -> list[str]:
    """The tool ids of an answer, brought back to the plan's first-party shape: each
    provider writes the same content-derived id in its own form (toolu_vrtx_, toolu_bdrk_,
    Converse's tooluse_ + 22 base64url, which is checked against the plan's id below)."""
    assert res.status == 200, res.body
    if name == "bedrock_converse":
        return [b["toolUse"]["toolUseId"] for b in body_json(res)["output"]["message"]["content"] if "toolUse" in b]
    if name == "bedrock_invoke":
        events = [m["payload"]["bytes_json"] for m in decode_eventstream(res.body)]
    elif res.streamed:
        events = [e["data"] for e in decode_sse(res.body) if "data" in e]
    else:
        return [_plan_id(b["id"]) for b in body_json(res)["content"] if b["type"] == "tool_use"]
    return [_plan_id(e["content_block"]["id"]) for e in events
            if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"]


def _plan_id(provider_id: str) -> str:
    for prefix in ("toolu_vrtx_", "toolu_bdrk_"):
        if provider_id.startswith(prefix):
            return "toolu_" + provider_id[len(prefix):]
    return provider_id


def _same_ids(by_provider: dict[str, list[str]]) -> bool:
    from ccmatrix.providers import ids

    converse = by_provider.pop("bedrock_converse", None)
    first = by_provider["anthropic"]
    return len(set(map(tuple, by_provider.values()))) == 1 and (
        converse is None or converse == [ids.converse_tool_id(i) for i in first])


def test_directive_ids_are_the_same_in_every_provider_shape() -> None:
    converse_first = {"role": "user", "content": [{"text": "<system-reminder>context</system-reminder>"}, {"text": PROMPT}, {"cachePoint": {"type": "default"}}]}
    first_ids = {name: _tool_ids(name, call(*shape)) for name, shape in _shapes([FIRST_USER], [converse_first], [BASH]).items()}
    assert len(first_ids["anthropic"]) == 1 and _same_ids(dict(first_ids))
    [tool_id] = first_ids["anthropic"]
    # second turn of a two-step directive: the next id agrees too
    steps_first = {"role": "user", "content": [{"type": "text", "text": STEPS}]}
    converse_steps = {"role": "user", "content": [{"text": STEPS}]}
    step0 = {name: _tool_ids(name, call(*shape)) for name, shape in _shapes([steps_first], [converse_steps], [BASH, READ]).items()}
    [first_step] = step0["anthropic"]
    assert _same_ids(dict(step0))
    later = [
        steps_first,
        {"role": "assistant", "content": [{"type": "tool_use", "id": first_step, "name": "Bash", "input": {"command": "echo one"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first_step, "content": "one"}]},
    ]
    converse_later = [
        converse_steps,
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": first_step, "name": "Bash", "input": {"command": "echo one"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": first_step, "content": [{"text": "one"}]}}]},
    ]
    step1 = {name: _tool_ids(name, call(*shape)) for name, shape in _shapes(later, converse_later, [BASH, READ]).items()}
    assert _same_ids(dict(step1)) and step1["anthropic"][0] not in (first_step, tool_id)


def test_converse_tool_use_parsed_by_botocore(boto_bedrock) -> None:
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    tool_config = {"tools": [_converse_tool(BASH)]}
    out = boto_bedrock.converse(modelId=HAIKU_BEDROCK, messages=messages, toolConfig=tool_config)
    raw = json.loads(respond(boto_bedrock.seen[-1]).body)
    out.pop("ResponseMetadata")
    assert out["output"] == raw["output"] and out["stopReason"] == raw["stopReason"]  # usage: see test_emulator
    assert out["stopReason"] == "tool_use"
    [block] = out["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "Bash" and block["toolUse"]["input"] == {"command": "echo ccmatrix"}
    stream = boto_bedrock.converse_stream(modelId=HAIKU_BEDROCK, messages=messages, toolConfig=tool_config, additionalModelRequestFields={"thinking": {"type": "adaptive"}})
    events = list(stream["stream"])
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert starts == [{"contentBlockIndex": 1, "start": {"toolUse": {"name": "Bash", "toolUseId": block["toolUse"]["toolUseId"],
                                                                     "type": "tool_use"}}}]
    assert block["toolUse"]["toolUseId"].startswith("tooluse_") and len(block["toolUse"]["toolUseId"]) == 30
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]]
    assert pieces[0] == "" and len(pieces) >= 3 and json.loads("".join(pieces)) == {"command": "echo ccmatrix"}
    assert {"messageStop": {"stopReason": "tool_use"}} in events
    raw = [m["payload"] for m in decode_eventstream(respond(boto_bedrock.seen[-1]).body)]
    for payload in raw:  # unmodeled, and real: Bedrock's padding, serverToolUsage
        payload.pop("p")
        payload.get("usage", {}).pop("serverToolUsage", None)
    assert [next(iter(e.values())) for e in events] == raw
    # final turn after a toolResult with an image
    tool_id = block["toolUse"]["toolUseId"]
    follow = messages + [
        {"role": "assistant", "content": [block]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": tool_id, "content": [{"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]}}]},
    ]
    out = boto_bedrock.converse(modelId=HAIKU_BEDROCK, messages=follow, toolConfig=tool_config)
    assert out["output"]["message"]["content"] == [{"text": "ccmatrix emulator: synthetic reply after 1 tool result(s) (haiku); saw 1 image"}]


def test_invoke_tool_use_stream_parsed_by_botocore(boto_bedrock, bedrock_sdk: anthropic.AnthropicBedrock) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [FIRST_USER], "tools": [BASH]}
    out = boto_bedrock.invoke_model_with_response_stream(modelId=HAIKU_BEDROCK, body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    partial = "".join(e["delta"]["partial_json"] for e in events if e["type"] == "content_block_delta")
    assert json.loads(partial) == {"command": "echo ccmatrix"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    with bedrock_sdk.messages.stream(model=HAIKU_BEDROCK, max_tokens=100, messages=[FIRST_USER], tools=[BASH]) as stream:
        final = stream.get_final_message()
    assert final.content[0].input == {"command": "echo ccmatrix"}


# ---------------------------------------------------------------- structured outputs


SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "count": {"type": "integer"},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "level": {"type": "string", "enum": ["low", "high"]},
        "nested": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "string"}}, "required": ["x"]},
        "optional": {"type": "string"},
    },
    "required": ["answer", "count", "score", "ok", "tags", "level", "nested"],
}
EXPECTED = {"answer": "ccmatrix", "count": 1, "score": 1, "ok": True, "tags": [], "level": "low", "nested": {"x": 1}}
STRUCTURED = {"name": "StructuredOutput", "description": "Return the final answer", "input_schema": SCHEMA}


def test_synthesize_from_schema() -> None:
    assert synthesize_from_schema(SCHEMA) == EXPECTED
    assert synthesize_from_schema({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == 1
    assert synthesize_from_schema({"type": ["null", "boolean"]}) is True


def test_structured_output(first_party: anthropic.Anthropic) -> None:
    hello = [{"role": "user", "content": "What is it?"}]
    message = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=hello, tools=[BASH, STRUCTURED])
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert (block.name, block.input) == ("StructuredOutput", EXPECTED)
    with first_party.messages.stream(model="claude-sonnet-4-6", max_tokens=100, messages=hello, tools=[STRUCTURED]) as stream:
        assert stream.get_final_message().content[0].input == EXPECTED
    follow = hello + [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True)]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "Structured output provided successfully"}]},
    ]
    final = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=follow, tools=[STRUCTURED])
    assert final.stop_reason == "end_turn" and final.content[0].type == "text"
    # after a directive's steps, StructuredOutput comes last
    directed = [FIRST_USER, *_tool_turns("toolu_x")]
    reply = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=directed, tools=[BASH, STRUCTURED])
    assert reply.content[0].name == "StructuredOutput"


def test_structured_output_on_converse(boto_bedrock) -> None:
    out = boto_bedrock.converse(
        modelId=HAIKU_BEDROCK,
        messages=[{"role": "user", "content": [{"text": "What is it?"}]}],
        toolConfig={"tools": [_converse_tool(STRUCTURED)]},
    )
    assert out["output"]["message"]["content"][0]["toolUse"]["input"] == EXPECTED


# ---------------------------------------------------------------- prompt caching


def _cached_body(ttl: str | None) -> dict:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return {
        "system": [{"type": "text", "text": "You are a CLI.", "cache_control": control}, {"type": "text", "text": "More.", "cache_control": control}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": control}]}],
    }


def test_prompt_caching_5m_and_1h(first_party: anthropic.Anthropic) -> None:
    plain = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=[{"role": "user", "content": "hello"}])
    # the real API always sends the breakdown (zeros when nothing was cached)
    assert plain.usage.cache_creation_input_tokens == 0
    assert (plain.usage.cache_creation.ephemeral_5m_input_tokens, plain.usage.cache_creation.ephemeral_1h_input_tokens) == (0, 0)
    five = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=10, **_cached_body(None))
    assert_fully_parsed(five)
    assert five.usage.cache_creation_input_tokens > 0 and five.usage.input_tokens > 0
    assert five.usage.cache_creation.ephemeral_5m_input_tokens == five.usage.cache_creation_input_tokens
    assert five.usage.cache_creation.ephemeral_1h_input_tokens == 0
    hour = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=10, **_cached_body("1h"))
    assert_fully_parsed(hour)
    breakdown = hour.usage.cache_creation
    assert breakdown.ephemeral_1h_input_tokens == hour.usage.cache_creation_input_tokens > 0
    assert breakdown.ephemeral_5m_input_tokens == 0
    with first_party.messages.stream(model="claude-sonnet-4-6", max_tokens=10, **_cached_body("1h")) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_creation.ephemeral_1h_input_tokens == final.usage.cache_creation_input_tokens > 0
    # mixed: tool marker 1h, message marker 5m
    mixed = _cached_body(None)
    tools = [{**BASH, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    both = first_party.messages.create(model="claude-sonnet-4-6", max_tokens=10, tools=tools, **mixed)
    assert both.usage.cache_creation.ephemeral_1h_input_tokens > 0 and both.usage.cache_creation.ephemeral_5m_input_tokens > 0


def test_prompt_caching_on_invoke(boto_bedrock) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, **_cached_body("1h")}
    out = boto_bedrock.invoke_model(modelId=HAIKU_BEDROCK, body=json.dumps(body))
    usage = json.loads(out["body"].read())["usage"]
    assert usage["cache_creation_input_tokens"] > 0 and usage["cache_creation"]["ephemeral_1h_input_tokens"] > 0
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-cache-write-input-token-count"]) == usage["cache_creation_input_tokens"]
    out = boto_bedrock.invoke_model_with_response_stream(modelId=HAIKU_BEDROCK, body=json.dumps(body))
    events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    assert events[-1]["amazon-bedrock-invocationMetrics"]["cacheWriteInputTokenCount"] == usage["cache_creation_input_tokens"]


def test_prompt_caching_on_converse(boto_bedrock) -> None:
    messages = [{"role": "user", "content": [{"text": "hello"}, {"cachePoint": {"type": "default"}}]}]
    system = [{"text": "You are a CLI."}, {"cachePoint": {"type": "default"}}]
    out = boto_bedrock.converse(modelId=HAIKU_BEDROCK, messages=messages, system=system)
    usage = out["usage"]
    assert usage["cacheWriteInputTokens"] > 0 and usage["cacheReadInputTokens"] == 0 and "cacheDetails" not in usage
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] + usage["cacheWriteInputTokens"]
    hour = [{"text": "You are a CLI."}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
    stream = boto_bedrock.converse_stream(modelId=HAIKU_BEDROCK, messages=messages, system=hour)
    metadata = [e["metadata"] for e in stream["stream"] if "metadata" in e][0]
    details = metadata["usage"]["cacheDetails"]
    assert {d["ttl"] for d in details} == {"5m", "1h"} and sum(d["inputTokens"] for d in details) == metadata["usage"]["cacheWriteInputTokens"]


# ---------------------------------------------------------------- web search


WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}
SEARCH_PROMPT = [{"role": "user", "content": "Perform a web search for the query: ccmatrix emulator"}]


def _check_search(message: anthropic.types.Message) -> None:
    assert_fully_parsed(message)
    # as real answers come: plain text, then text citing a result
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text", "text"]
    use, result, _, cited = message.content
    assert cited.citations[0].type == "web_search_result_location" and cited.citations[0].url == result.content[0].url
    assert isinstance(use, anthropic.types.ServerToolUseBlock) and isinstance(result, anthropic.types.WebSearchToolResultBlock)
    assert use.id.startswith("srvtoolu_01") and use.name == "web_search" and use.input == {"query": "ccmatrix emulator"}
    assert result.tool_use_id == use.id and len(result.content) == 2
    assert all(isinstance(r, anthropic.types.WebSearchResultBlock) and r.url.startswith("https://example.com/") for r in result.content)
    assert message.usage.server_tool_use.web_search_requests == 1
    assert message.stop_reason == "end_turn"


def test_web_search(first_party: anthropic.Anthropic, vertex: anthropic.AnthropicVertex, bedrock_sdk: anthropic.AnthropicBedrock, recorder: Recorder) -> None:
    message = first_party.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=SEARCH_PROMPT, tools=[WEB_SEARCH])
    _check_search(message)
    raw = json.loads(respond(recorder.requests[-1]).body)
    assert anthropic.types.Message.model_validate(raw).model_dump(mode="json", exclude_unset=True) == raw
    for client, model in ((first_party, "claude-haiku-4-5"), (vertex, "claude-haiku-4-5@20251001"), (bedrock_sdk, HAIKU_BEDROCK)):
        with client.messages.stream(model=model, max_tokens=100, messages=SEARCH_PROMPT, tools=[WEB_SEARCH]) as stream:
            events = list(stream)
            final = stream.get_final_message()
        _check_search(final)
        assert final.content[0].id == message.content[0].id  # content-derived
        starts = [e.content_block.type for e in events if e.type == "content_block_start"]
        assert starts == ["server_tool_use", "web_search_tool_result", "text", "text"]
    sse = decode_sse(respond(recorder.requests[-3]).body)
    result_start = [e["data"] for e in sse if e["event"] == "content_block_start"][1]
    assert len(result_start["content_block"]["content"]) == 2  # complete in the start event
    # with thinking: thinking first
    thought = first_party.messages.create(model="claude-haiku-4-5", max_tokens=4096, messages=SEARCH_PROMPT, tools=[WEB_SEARCH], thinking={"type": "enabled", "budget_tokens": 1024})
    assert [b.type for b in thought.content][:2] == ["thinking", "server_tool_use"]


# ---------------------------------------------------------------- count_tokens


def test_count_tokens_depends_on_content(first_party: anthropic.Anthropic) -> None:
    short = first_party.messages.count_tokens(model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}])
    long = first_party.messages.count_tokens(model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi " * 200}])
    assert 0 < short.input_tokens < long.input_tokens


def test_bedrock_count_tokens_parsed_by_botocore(boto_bedrock) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": [{"role": "user", "content": "hi " * 100}]}
    out = boto_bedrock.count_tokens(modelId=HAIKU_BEDROCK, input={"invokeModel": {"body": json.dumps(body).encode()}})
    assert boto_bedrock.seen[-1].route_path == "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/count-tokens"
    assert out["inputTokens"] == len(json.dumps(body)) // 4 > 0
    small = boto_bedrock.count_tokens(modelId=HAIKU_BEDROCK, input={"converse": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}})
    large = boto_bedrock.count_tokens(modelId=HAIKU_BEDROCK, input={"converse": {"messages": [{"role": "user", "content": [{"text": "hi " * 100}]}]}})
    assert 0 < small["inputTokens"] < large["inputTokens"]
    # the brief's spelling: the Invoke body as a JSON string
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/count-tokens", {"input": {"invokeModel": {"body": json.dumps(body)}}}, SIGV4)
    assert body_json(res) == {"inputTokens": out["inputTokens"]}
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/count-tokens", {"input": {}}, SIGV4)
    assert res.status == 400


# ---------------------------------------------------------------- tool search


TOOL_SEARCH = {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}
DEFERRED = {**READ, "defer_loading": True}
TOOL_REFERENCE_TURNS = [
    {"role": "user", "content": "find a tool"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01ts", "name": "ToolSearch", "input": {"query": "read"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01ts", "content": [{"type": "tool_reference", "tool_name": "Read"}]}]},
]


def test_tool_search_accepted_first_party_vertex_azure() -> None:
    tools = [TOOL_SEARCH, {"name": "ToolSearch", "input_schema": {"type": "object"}}, DEFERRED]
    for name, (host, path, body, headers) in _shapes(TOOL_REFERENCE_TURNS, [], tools).items():
        if name in ("anthropic", "azure", "vertex_ai"):
            assert call(host, path, body, headers).status == 200, name


def test_bedrock_invoke_gates_tool_search_on_its_beta() -> None:
    """Bedrock takes the regex tool-search tool only with tool-search-tool-2025-10-19 in
    anthropic_beta (BerriAI/litellm#36502); never the bm25 one; and refuses the first-party
    beta name (advanced-tool-use) as an invalid beta flag (BerriAI/litellm#19373)."""
    path = f"/model/{HAIKU_BEDROCK}/invoke"
    base = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": TOOL_REFERENCE_TURNS}
    host = "bedrock-runtime.us-east-1.amazonaws.com"
    ok = call(host, path, {**base, "tools": [DEFERRED, {"name": "ToolSearch", "input_schema": {"type": "object"}}]}, SIGV4)
    assert ok.status == 200  # defer_loading and tool_reference are accepted
    tags = ("'bash_20250124', 'custom', 'memory_20250818', 'text_editor_20250124', 'text_editor_20250429', "
            "'text_editor_20250728', 'web_search_20250305'")
    for kind in ("tool_search_tool_regex_20251119", "tool_search_tool_bm25_20251119"):
        res = call(host, path, {**base, "tools": [DEFERRED, {**TOOL_SEARCH, "type": kind}]}, SIGV4)
        assert res.status == 400 and res.headers["x-amzn-ErrorType"].startswith("ValidationException")
        assert body_json(res) == {
            "message": f"tools.1: Input tag '{kind}' found using 'type' does not match any of the expected tags: {tags}"}
    with_beta = {**base, "anthropic_beta": ["tool-search-tool-2025-10-19"]}
    assert call(host, path, {**with_beta, "tools": [DEFERRED, TOOL_SEARCH]}, SIGV4).status == 200
    bm25 = call(host, path, {**with_beta, "tools": [DEFERRED, {**TOOL_SEARCH, "type": "tool_search_tool_bm25_20251119"}]}, SIGV4)
    assert bm25.status == 400 and "'tool_search_tool_regex_20251119'" in body_json(bm25)["message"]
    wrong_beta = call(host, path, {**base, "anthropic_beta": ["advanced-tool-use-2025-11-20"], "tools": [DEFERRED]}, SIGV4)
    assert wrong_beta.status == 400 and body_json(wrong_beta) == {"message": "invalid beta flag"}


def test_reference_snapshot_error_string_matches() -> None:
    """The Invoke rejection is the one recorded in the shared reference snapshot."""
    from ccmatrix.bundled import CHECKOUT_DIR

    snapshot = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"
    if not snapshot.exists():
        pytest.skip("reference snapshot not present")
    features = {f["id"]: f for f in json.loads(snapshot.read_text())["features"]}
    recorded = features["tool_search"]["providers"]["bedrock_invoke"]["error"]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": TOOL_REFERENCE_TURNS, "tools": [TOOL_SEARCH]}
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke", body, SIGV4)
    assert body_json(res)["message"].startswith("tools.0: ") and body_json(res)["message"] in recorded


# ---------------------------------------------------------------- shapes real deployments accept / reject


def test_invoke_accepts_what_claude_deployments_send() -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [FIRST_USER],
        "output_config": {"effort": "high"},
        "context_management": {"edits": []},
        "anthropic_beta": ["interleaved-thinking-2025-05-14"],
        "thinking": {"type": "adaptive"},
    }
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke", body, SIGV4)
    assert res.status == 200
    res = call("bedrock-runtime.us-east-1.amazonaws.com", f"/model/{HAIKU_BEDROCK}/invoke", {**body, "metadata_x": 1}, SIGV4)
    assert body_json(res) == {"message": "Malformed input request: #: extraneous key [metadata_x] is not permitted, please reformat your input and try again."}


def test_converse_accepts_additional_fields_and_rejects_anthropic_blocks() -> None:
    extra = {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}, "anthropic_beta": ["context-management-2025-06-27"], "context_management": {"edits": []}}
    good = {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "additionalModelRequestFields": extra}
    path = f"/model/{HAIKU_BEDROCK}/converse"
    assert call("bedrock-runtime.us-east-1.amazonaws.com", path, good, SIGV4).status == 200
    bad = {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "y"}]}]}
    res = call("bedrock-runtime.us-east-1.amazonaws.com", path, bad, SIGV4)
    assert res.status == 400 and res.headers["x-amzn-ErrorType"].startswith("ValidationException")
