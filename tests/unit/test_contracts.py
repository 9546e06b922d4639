"""Provider contracts, rule by rule: a request LiteLLM really sent (a recorded one) is
accepted; the same request broken the way the rule says, in code, gets the provider's
error from the emulator, from that rule. Every rule of every provider has a breaker
here (a test keeps it so), and each LiteLLM regression class the contracts stand for
(docs/contracts.md) is one of them.

The anthropic SDK's request types are the oracle for the Messages shapes: every key
the SDK can send must be accepted (a shape stricter than the API would turn valid
requests red).
"""

from __future__ import annotations

import copy
import json
import typing
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.emulator import EmulatedRequest, respond
from ccmatrix.providers import ALL_PROVIDERS, PROVIDERS
from ccmatrix.providers import messages_api as api
from ccmatrix.providers.contract import ProviderRequest

ROOT = catalog.DEFAULT_CASSETTE_DIR
# the breakers name recorded requests by cell and index, in this release's tree (any
# release's requests would do: the rules are about what LiteLLM sends the provider)
RELEASE = "2.1.126"
Mutation = Callable[[dict, dict], None]  # (body, headers), changed in place


@dataclass(frozen=True)
class Breaker:
    rule: str
    cell: str  # the recorded cell tier whose request is broken
    interaction: int
    breaks: Mutation
    expect: str  # in the provider's error text
    regression: str = ""  # the LiteLLM regression class it stands for, with its evidence

    @property
    def id(self) -> str:
        return self.rule


def recorded_request(cell: str, index: int) -> tuple[str, str, dict, dict]:
    """(host, path, headers, body) of a request LiteLLM sent, as recorded."""
    cassette = load(catalog.CellTier.parse(cell).cassette_path(ROOT, RELEASE), ROOT)
    request = cassette.interactions[index].request
    parts = urlsplit(request.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.netloc, path, dict(request.headers), copy.deepcopy(request.body.value())


def emulated(host: str, path: str, headers: dict, body: dict) -> EmulatedRequest:
    return EmulatedRequest("POST", host, path, headers, json.dumps(body).encode())


def provider_of(cell: str):
    return catalog.CellTier.parse(cell).provider


# ---------------------------------------------------------------- mutations


def delete(*path: str) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return go


def put(value: Any, *path: str) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        target = body
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return go


def header_betas(change: Callable[[list[str]], list[str]]) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
        headers["anthropic-beta"] = ",".join(change(betas))
    return go


def body_betas(change: Callable[[list[str]], list[str]], *path: str) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        target = body
        for key in path:
            target = target.setdefault(key, {})
        target["anthropic_beta"] = change(list(target.get("anthropic_beta", [])))
    return go


def alter_thinking(body: dict, headers: dict) -> None:
    """Change one character of the first echoed thinking text (what a proxy that re-joins
    or trims thinking deltas does); its signature no longer covers it."""
    for message in body["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "thinking":
                block["thinking"] = block["thinking"] + " "
                return
            reasoning = (block.get("reasoningContent") or {}).get("reasoningText")
            if reasoning:
                reasoning["text"] = reasoning["text"] + " "
                return
    raise AssertionError("the recorded request echoes no thinking block")


def pad_first_message(chars: int, converse: bool = False) -> Mutation:
    """A first user message grown past the context window (a quarter of the bytes is the
    emulator's token estimate, the same it reports as usage)."""
    def go(body: dict, headers: dict) -> None:
        content = body["messages"][0]["content"]
        if isinstance(content, str):
            body["messages"][0]["content"] = content + "x" * chars
        else:
            content.insert(0, {"text": "x" * chars} if converse else {"type": "text", "text": "x" * chars})
    return go


def drop_text_beside_documents(body: dict, headers: dict) -> None:
    for message in body["messages"]:
        if message["role"] == "user" and any("document" in b for b in message["content"]):
            message["content"] = [b for b in message["content"] if "text" not in b]
            return
    raise AssertionError("the recorded request carries no document")


def drop_tool_results(body: dict, headers: dict) -> None:
    """What LiteLLM 1.93.0 sends on the tool search flow: the toolResult replaced by text."""
    for message in body["messages"]:
        if message["role"] == "user" and any("toolResult" in b for b in message["content"]):
            message["content"] = [b if "toolResult" not in b else {"text": "Tool loaded."} for b in message["content"]]
            return
    raise AssertionError("the recorded request answers no toolUse")


def add_tool(tool: dict) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        body.setdefault("tools", []).append(tool)
    return go


def both(*mutations: Mutation) -> Mutation:
    def go(body: dict, headers: dict) -> None:
        for m in mutations:
            m(body, headers)
    return go


TOOL_SEARCH_TOOL = {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}
HAIKU_TOO_LONG = pad_first_message(900_000)  # ~225k tokens: beyond Haiku's 200k
NO_1M = header_betas(lambda betas: [b for b in betas if b != api.ONE_MILLION_BETA])
WITHOUT_CONTEXT_MANAGEMENT_BETA = header_betas(lambda betas: [b for b in betas if b not in api.CONTEXT_MANAGEMENT_BETAS])


def messages_breakers(provider: str, *, count: str | None, thinking: str, required_msg: str,
                      top_level: tuple[str, str], context_management: str | None) -> list[Breaker]:
    """The rules every Messages-body provider shares (messages_api.messages_rules)."""
    basic = f"basic_messaging_non_streaming/{provider}/sonnet"
    out = [
        Breaker(f"{provider}.required-fields", basic, 0, delete("max_tokens"), required_msg),
        Breaker(f"{provider}.top-level-fields", basic, 0, put(True, top_level[0]), top_level[1]),
        Breaker(f"{provider}.field-types", basic, 0, put("32000", "max_tokens"), "max_tokens: Input should be a valid integer"),
        Breaker(f"{provider}.closed-objects", basic, 0, put(["claude-code"], "metadata", "tags"),
                "metadata.tags: Extra inputs are not permitted",
                "metadata.tags forwarded to Bedrock Invoke (BerriAI/litellm#30629)"),
        Breaker(f"{provider}.thinking-signature", thinking, 1, alter_thinking,
                "messages.1.content.0: Invalid `signature` in `thinking` block",
                "a thinking block echoed back altered"),
    ]
    if count is not None:
        out.append(Breaker(f"{provider}.count-tokens-fields", count, 0, put(64, "max_tokens"),
                           "max_tokens: Extra inputs are not permitted"))
    if context_management is not None:
        out.append(Breaker(f"{provider}.context-management-beta", context_management, 0,
                           WITHOUT_CONTEXT_MANAGEMENT_BETA, "context_management: Extra inputs are not permitted",
                           "context_management without its beta header (anthropics/claude-code#21612)"))
    return out


BREAKERS: list[Breaker] = [
    # ---- first party and Azure AI Foundry (the same API)
    *[b for p in ("anthropic", "azure") for b in [
        *messages_breakers(p, count=f"count_tokens/{p}/sonnet", thinking=f"thinking_with_tool_use/{p}/sonnet",
                           required_msg="max_tokens: Field required",
                           top_level=("speed_mode", "speed_mode: Extra inputs are not permitted"),
                           context_management=f"basic_messaging_non_streaming/{p}/sonnet"),
        Breaker(f"{p}.count-tokens-required", f"count_tokens/{p}/sonnet", 0, delete("messages"),
                "messages: Field required"),
        Breaker(f"{p}.prompt-too-long", f"long_context_1m/{p}/sonnet", 0, both(pad_first_message(900_000), NO_1M),
                "prompt is too long", "beyond 200k tokens without the 1M beta"),
        Breaker(f"{p}.beta-header-values", f"basic_messaging_non_streaming/{p}/sonnet", 0,
                header_betas(lambda b: [*b, "made-up-2099-01-01"]), "Unexpected value(s) `made-up-2099-01-01`",
                "a forwarded beta the API does not know"),
    ]],
    # ---- Vertex AI
    *messages_breakers("vertex_ai", count=None, thinking="thinking_with_tool_use/vertex_ai/sonnet",
                       required_msg="max_tokens: Field required",
                       top_level=("speed_mode", "speed_mode: Extra inputs are not permitted"),
                       context_management="basic_messaging_non_streaming/vertex_ai/sonnet"),
    Breaker("vertex_ai.count-tokens-fields", "count_tokens/vertex_ai/sonnet", 0, put(64, "max_tokens"),
            "max_tokens: Extra inputs are not permitted"),
    Breaker("vertex_ai.model-in-url", "basic_messaging_non_streaming/vertex_ai/sonnet", 0,
            put("claude-sonnet-4-6", "model"), "model: Extra inputs are not permitted"),
    Breaker("vertex_ai.anthropic-version", "basic_messaging_non_streaming/vertex_ai/sonnet", 0,
            put("bedrock-2023-05-31", "anthropic_version"), "anthropic_version: Input should be 'vertex-2023-10-16'"),
    Breaker("vertex_ai.header-beta-values", "basic_messaging_non_streaming/vertex_ai/sonnet", 0,
            # (the recorded request may carry another refused value already: 1.110.2 forwards
            # prompt-caching-scope-2026-01-05 as a header to Vertex, a finding on the default)
            header_betas(lambda b: [*b, api.ONE_MILLION_BETA]), f"`{api.ONE_MILLION_BETA}` for the `anthropic-beta` header",
            "context-1m as a header on Vertex (BerriAI/litellm#31607)"),
    Breaker("vertex_ai.prompt-too-long", "basic_messaging_non_streaming/vertex_ai/haiku", 0, HAIKU_TOO_LONG,
            "prompt is too long"),
    # ---- Bedrock InvokeModel
    *messages_breakers("bedrock_invoke", count=None, thinking="thinking_with_tool_use/bedrock_invoke/sonnet",
                       required_msg="#: required key [max_tokens] not found",
                       top_level=("model", "#: extraneous key [model] is not permitted"), context_management=None),
    Breaker("bedrock_invoke.anthropic-version", "basic_messaging_non_streaming/bedrock_invoke/sonnet", 0,
            put("vertex-2023-10-16", "anthropic_version"), "anthropic_version: Input should be 'bedrock-2023-05-31'"),
    Breaker("bedrock_invoke.beta-flags", "basic_messaging_non_streaming/bedrock_invoke/sonnet", 0,
            body_betas(lambda b: [*b, "advanced-tool-use-2025-11-20"]), "invalid beta flag",
            "first-party betas forwarded to Bedrock (BerriAI/litellm#19373, #19877, #20012)"),
    Breaker("bedrock_invoke.unknown-beta-flags", "basic_messaging_non_streaming/bedrock_invoke/sonnet", 0,
            body_betas(lambda b: [*b, "made-up-2099-01-01"]), "not known to Bedrock: made-up-2099-01-01"),
    Breaker("bedrock_invoke.tool-types", "basic_messaging_non_streaming/bedrock_invoke/sonnet", 0,
            both(add_tool(TOOL_SEARCH_TOOL), body_betas(lambda b: [x for x in b if x != "tool-search-tool-2025-10-19"])),
            "Input tag 'tool_search_tool_regex_20251119' found using 'type' does not match any of the expected tags",
            "the tool search tool without its beta (BerriAI/litellm#36502)"),
    Breaker("bedrock_invoke.output-format-opus-4-7", "basic_messaging_non_streaming/bedrock_invoke/opus", 0,
            put({"type": "json_schema", "schema": {"type": "object"}}, "output_config", "format"),
            "output_config.format: Extra inputs are not permitted",
            "output_config.format on every request (BerriAI/litellm#28312)"),
    Breaker("bedrock_invoke.effort-haiku-4-5", "basic_messaging_non_streaming/bedrock_invoke/haiku", 0,
            put("high", "output_config", "effort"), "output_config.effort: Extra inputs are not permitted",
            "output_config.effort where the model has none (anthropics/claude-code-action#1005, LiteLLM #22797)"),
    Breaker("bedrock_invoke.prompt-too-long", "basic_messaging_non_streaming/bedrock_invoke/haiku", 0, HAIKU_TOO_LONG,
            "prompt is too long"),
    Breaker("bedrock_invoke.mantle-count-tokens-fields", "count_tokens/bedrock_invoke/opus", 0, put(64, "max_tokens"),
            "max_tokens: Extra inputs are not permitted"),
    Breaker("bedrock_invoke.mantle-output-format", "count_tokens/bedrock_invoke/opus", 0,
            put({"type": "json_schema", "schema": {"type": "object"}}, "output_config", "format"),
            "output_config.format: Extra inputs are not permitted"),
    # ---- Bedrock Converse
    Breaker("bedrock_converse.request-schema", "basic_messaging_non_streaming/bedrock_converse/sonnet", 0,
            put(1, "metadata"), "extraneous key [metadata] is not permitted"),
    Breaker("bedrock_converse.model-fields", "basic_messaging_non_streaming/bedrock_converse/sonnet", 0,
            put(["claude-code"], "additionalModelRequestFields", "tags"),
            "The model returned the following errors: tags: Extra inputs are not permitted",
            "unknown additionalModelRequestFields (BerriAI/litellm#15637)"),
    Breaker("bedrock_converse.beta-flags", "basic_messaging_non_streaming/bedrock_converse/sonnet", 0,
            body_betas(lambda b: [*b, "advanced-tool-use-2025-11-20"], "additionalModelRequestFields"),
            "The model returned the following errors: invalid beta flag",
            "first-party betas forwarded to Bedrock (BerriAI/litellm#19373)"),
    Breaker("bedrock_converse.unknown-beta-flags", "basic_messaging_non_streaming/bedrock_converse/sonnet", 0,
            body_betas(lambda b: [*b, "made-up-2099-01-01"], "additionalModelRequestFields"),
            "not known to Bedrock: made-up-2099-01-01"),
    Breaker("bedrock_converse.documents-need-text", "pdf_input/bedrock_converse/sonnet", 1, drop_text_beside_documents,
            "A text block must be included when using documents",
            "a document without a text block (fixed by BerriAI/litellm#36499)"),
    Breaker("bedrock_converse.tool-results", "tool_use/bedrock_converse/sonnet", 1, drop_tool_results,
            "Expected toolResult blocks at messages.2.content for the following Ids",
            "a toolUse left unanswered"),
    Breaker("bedrock_converse.thinking-signature", "thinking_with_tool_use/bedrock_converse/sonnet", 1, alter_thinking,
            "The model returned the following errors: messages.1.content.0: Invalid `signature` in `thinking` block",
            "a thinking block echoed back altered"),
    Breaker("bedrock_converse.prompt-too-long", "basic_messaging_non_streaming/bedrock_converse/haiku", 0,
            pad_first_message(900_000, converse=True), "The model returned the following errors: prompt is too long"),
]


def _rule(rule_id: str):
    return next(r for p in PROVIDERS for r in p.contract if r.id == rule_id)


def test_every_rule_has_a_breaker():
    rules = {r.id for p in PROVIDERS for r in p.contract}
    covered = [b.rule for b in BREAKERS]
    assert sorted(rules - set(covered)) == [], "rules with no test deriving a breaking request"
    assert sorted(set(covered) - rules) == [], "breakers for rules that no longer exist"
    assert len(covered) == len(set(covered))


@pytest.mark.parametrize("breaker", BREAKERS, ids=lambda b: b.id)
def test_breaking_a_recorded_request_gets_the_providers_error(breaker: Breaker):
    host, path, headers, body = recorded_request(breaker.cell, breaker.interaction)
    provider = provider_of(breaker.cell)
    rule = _rule(breaker.rule)
    # as recorded, the request is one the provider takes
    assert provider.check(ProviderRequest.of("POST", host, path, headers, body)).rejected is None
    assert respond(emulated(host, path, headers, body)).status == 200

    breaker.breaks(body, headers)
    verdict = provider.check(ProviderRequest.of("POST", host, path, headers, body))
    answer = respond(emulated(host, path, headers, body))
    if rule.action == "reject":
        assert verdict.rejected is not None and verdict.rejected.rule.id == rule.id, verdict
        assert answer.status == rule.status
        assert breaker.expect in answer.body.decode(), answer.body[:500]
        expected_status, _, expected_body = provider.rejection(verdict.rejected, "seed")
        assert _error_keys(answer.body) == _error_keys(expected_body), "the provider's error shape"
    else:  # thin evidence: the request goes through, the tier carries a finding
        assert verdict.rejected is None
        assert [w.rule.id for w in verdict.warnings] == [rule.id]
        assert breaker.expect in verdict.warnings[0].message
        assert answer.status == 200


def _error_keys(body: bytes) -> Any:
    value = json.loads(body)
    return {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in value.items()}


def test_tool_search_follows_bedrock_invokes_beta_gating():
    """Bedrock InvokeModel takes the tool search tool only with its beta (BerriAI/litellm#36502;
    the Anthropic tool-search docs): with it, accepted; without, the 400 the live run saw."""
    host, path, headers, body = recorded_request("basic_messaging_non_streaming/bedrock_invoke/sonnet", 0)
    add_tool(TOOL_SEARCH_TOOL)(body, headers)
    gated = copy.deepcopy(body)
    body_betas(lambda b: [*b, "tool-search-tool-2025-10-19"])(gated, headers)
    assert respond(emulated(host, path, headers, gated)).status == 200
    body_betas(lambda b: [x for x in b if x != "tool-search-tool-2025-10-19"])(body, headers)
    assert respond(emulated(host, path, headers, body)).status == 400


REGRESSION_CLASSES = {
    # the list of real LiteLLM regressions, each caught by a breaker above
    "metadata.tags": "bedrock_invoke.closed-objects",
    "output_config.effort": "bedrock_invoke.effort-haiku-4-5",
    "output_config.format": "bedrock_invoke.output-format-opus-4-7",
    "vertex context_management": "vertex_ai.context-management-beta",
    "invalid beta flag": "bedrock_invoke.beta-flags",
    "converse additionalModelRequestFields": "bedrock_converse.model-fields",
    "converse documents need text": "bedrock_converse.documents-need-text",
    "thinking signature": "bedrock_converse.thinking-signature",
    "beyond 200k without the 1M beta": "anthropic.prompt-too-long",
    "tool search beta gating": "bedrock_invoke.tool-types",
}


@pytest.mark.parametrize("kind", sorted(REGRESSION_CLASSES))
def test_each_regression_class_has_a_breaker(kind):
    rule = REGRESSION_CLASSES[kind]
    assert any(b.rule == rule and b.regression for b in BREAKERS), f"{kind}: no breaker for {rule}"


# ---------------------------------------------------------------- the SDK as oracle


def _keys(typed_dict: Any) -> set[str]:
    """The body keys of an SDK request type (not those it sends as headers, like
    `anthropic-user-profile-id`)."""
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    return {name for name, hint in hints.items()
            if not any(str(getattr(meta, "alias", "") or "").startswith("anthropic-")
                       for meta in getattr(hint, "__metadata__", ()))}


def _sdk() -> Any:
    return pytest.importorskip("anthropic.types")


def test_every_top_level_field_the_sdk_sends_is_accepted():
    types = _sdk()
    from anthropic.types.message_create_params import MessageCreateParamsBase

    # stream travels on the create call; the rest are request fields
    sdk = _keys(MessageCreateParamsBase) | {"stream"}
    assert sorted(sdk - api.FIRST_PARTY_FIELDS) == []
    assert sorted(_keys(types.MessageCountTokensParams) - api.COUNT_TOKENS_FIELDS) == []


@pytest.mark.parametrize("name, shape", [
    ("TextBlockParam", api.BLOCKS["text"]),
    ("ImageBlockParam", api.BLOCKS["image"]),
    ("DocumentBlockParam", api.BLOCKS["document"]),
    ("ToolUseBlockParam", api.BLOCKS["tool_use"]),
    ("ToolResultBlockParam", api.BLOCKS["tool_result"]),
    ("ThinkingBlockParam", api.BLOCKS["thinking"]),
    ("RedactedThinkingBlockParam", api.BLOCKS["redacted_thinking"]),
    ("SearchResultBlockParam", api.BLOCKS["search_result"]),
    ("ServerToolUseBlockParam", api.BLOCKS["server_tool_use"]),
    ("MetadataParam", api.NESTED["metadata"]),
    ("OutputConfigParam", api.NESTED["output_config"]),
    ("CacheControlEphemeralParam", api.NESTED["cache_control"]),
    ("ThinkingConfigEnabledParam", api.NESTED["thinking"]),
    ("ThinkingConfigAdaptiveParam", api.NESTED["thinking"]),
    ("ToolChoiceAutoParam", api.NESTED["tool_choice"]),
    ("ToolChoiceToolParam", api.NESTED["tool_choice"]),
])
def test_every_key_the_sdk_sends_is_accepted_by_the_shape(name, shape):
    types = _sdk()
    sdk_type = getattr(types, name, None)
    if sdk_type is None:
        pytest.skip(f"this anthropic SDK has no {name}")
    assert sorted(_keys(sdk_type) - set(shape.keys)) == [], f"keys the SDK's {name} can send that the shape rejects"


def test_custom_tools_take_every_key_the_sdk_sends():
    types = _sdk()
    body = {"tools": [{key: None for key in _keys(types.ToolParam)}]}
    assert api.tools_shape_problem(body["tools"]) is None


def test_docs_list_every_rule_with_its_evidence():
    from ccmatrix.bundled import CHECKOUT_DIR

    doc = (CHECKOUT_DIR / "docs" / "contracts.md").read_text()
    for provider in ALL_PROVIDERS:
        for rule in provider.contract:
            row = next((line for line in doc.splitlines() if line.startswith(f"| `{rule.id}` |")), None)
            assert row is not None, f"docs/contracts.md has no row for {rule.id}"
            assert f"| {rule.action} | {rule.confidence} |" in row, rule.id
            for link in rule.evidence:
                assert link in row, f"{rule.id}: {link} missing from its row"
