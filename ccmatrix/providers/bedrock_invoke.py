"""Bedrock InvokeModel: Anthropic Messages bodies, answered in the AWS event stream."""

from __future__ import annotations

from pathlib import Path

from ccmatrix.providers import messages_api as api
from ccmatrix.providers.bedrock import (
    AWS_MESSAGES_DOC,
    BETA_EVIDENCE,
    Bedrock,
    access_keys,
    native_1m,
    rejected_betas,
    unknown_betas,
)
from ccmatrix.providers.contract import ProviderRequest, Rule, both, model_matches, on_path
from ccmatrix.wire.messages import AssistantMessage, from_bedrock_invoke_stream

BEDROCK_VERSION = "bedrock-2023-05-31"
INVOKE = on_path(r"^/model/[^/]+/(invoke|invoke-with-response-stream)$")
MANTLE_COUNT = on_path(r"^/anthropic/v1/messages/count_tokens$")
# InvokeModel's Anthropic body (the AWS request/response page, LiteLLM's mirror of it)
INVOKE_FIELDS = frozenset({
    "anthropic_version", "anthropic_beta", "max_tokens", "messages", "system", "stop_sequences", "temperature",
    "top_p", "top_k", "tools", "tool_choice", "thinking", "metadata", "output_config", "context_management",
})
# the tool `type` tags InvokeModel's schema accepts, as its 400 for Claude Haiku 4.5
# lists them (the published live matrix, LiteLLM 1.93.0; BerriAI/litellm#28083 shows a
# longer list for older models)
TOOL_TAGS = ("bash_20250124", "custom", "memory_20250818", "text_editor_20250124", "text_editor_20250429",
             "text_editor_20250728", "web_search_20250305")
TOOL_SEARCH_BETA = "tool-search-tool-2025-10-19"
TOOL_SEARCH_TAGS = ("tool_search_tool_regex_20251119",)  # only the regex variant exists on Bedrock


def _malformed(detail: str) -> str:
    # Bedrock's own schema check, before the model sees the body
    return f"Malformed input request: {detail}, please reformat your input and try again."


def _version(request: ProviderRequest) -> str | None:
    version = api.body_of(request).get("anthropic_version")
    return None if version in (None, BEDROCK_VERSION) else f"anthropic_version: Input should be '{BEDROCK_VERSION}'"


def _tool_types(request: ProviderRequest) -> str | None:
    """tools[i].type is a tagged union; the tool-search tag joins it only with its beta."""
    tags = TOOL_TAGS + (TOOL_SEARCH_TAGS if TOOL_SEARCH_BETA in request.body_betas() else ())
    tools = api.body_of(request).get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else []):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind not in tags:
            expected = ", ".join(f"'{tag}'" for tag in tags)
            return f"tools.{index}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {expected}"
    return None


def _output_format(request: ProviderRequest) -> str | None:
    config = api.body_of(request).get("output_config")
    return "output_config.format: Extra inputs are not permitted" if isinstance(config, dict) and "format" in config else None


def _effort(request: ProviderRequest) -> str | None:
    config = api.body_of(request).get("output_config")
    return "output_config.effort: Extra inputs are not permitted" if isinstance(config, dict) and "effort" in config else None


CONTRACT: tuple[Rule, ...] = (
    Rule("bedrock_invoke.required-fields", "anthropic_version, max_tokens and messages are required",
         (AWS_MESSAGES_DOC,), api.required("anthropic_version", "messages", "max_tokens",
                                           phrase=lambda n: _malformed(f"#: required key [{n}] not found")), INVOKE),
    Rule("bedrock_invoke.top-level-fields", "only the documented top-level fields (no model, no stream)",
         (AWS_MESSAGES_DOC, "https://github.com/BerriAI/litellm/issues/30629"),
         api.top_level_extras(INVOKE_FIELDS, phrase=lambda n: _malformed(f"#: extraneous key [{n}] is not permitted")),
         INVOKE),
    Rule("bedrock_invoke.anthropic-version", f"anthropic_version is {BEDROCK_VERSION}", (AWS_MESSAGES_DOC,),
         _version, INVOKE),
    Rule("bedrock_invoke.field-types", "messages is a list, max_tokens an integer", (AWS_MESSAGES_DOC,),
         api.field_types, INVOKE),
    Rule("bedrock_invoke.closed-objects",
         "unknown keys inside the Messages objects are rejected; metadata holds only user_id",
         ("https://github.com/BerriAI/litellm/issues/30629", "https://github.com/anthropics/claude-code/issues/146"),
         api.nested_extras, INVOKE),
    Rule("bedrock_invoke.beta-flags", "anthropic_beta values Bedrock does not take: 'invalid beta flag'",
         BETA_EVIDENCE, lambda r: rejected_betas(r.body_betas()), INVOKE),
    Rule("bedrock_invoke.unknown-beta-flags", "anthropic_beta values not known to be accepted",
         BETA_EVIDENCE, lambda r: unknown_betas(r.body_betas()), INVOKE, confidence="reported", action="warn"),
    Rule("bedrock_invoke.tool-types",
         "server tool types outside InvokeModel's tagged union are rejected; tool_search_tool_regex_20251119 "
         f"is accepted only with the {TOOL_SEARCH_BETA} beta",
         ("https://github.com/BerriAI/litellm/pull/36502", "https://github.com/BerriAI/litellm/issues/28083",
          "https://platform.claude.com/docs/en/agents-and-tools/tool-search-tool"),
         _tool_types, INVOKE),
    Rule("bedrock_invoke.output-format-opus-4-7", "output_config.format is rejected for Opus 4.7 on InvokeModel",
         ("https://github.com/BerriAI/litellm/pull/28312", "https://github.com/vercel/ai/pull/15288"),
         _output_format, both(INVOKE, model_matches(r"opus-4-7"))),
    Rule("bedrock_invoke.effort-haiku-4-5", "output_config.effort is rejected where the model has no effort",
         ("https://github.com/anthropics/claude-code-action/issues/1005", "https://github.com/BerriAI/litellm/pull/27040"),
         _effort, both(INVOKE, model_matches(r"haiku-4-5")), confidence="reported", action="warn"),
    Rule("bedrock_invoke.thinking-signature", "a thinking block echoed back with any change is rejected",
         ("https://github.com/anomalyco/opencode/issues/15074", "https://github.com/anthropics/anthropic-sdk-python/issues/1598"),
         lambda r: api.signature_problem(api.thinking_blocks(api.body_of(r))), INVOKE),
    Rule("bedrock_invoke.prompt-too-long", "input beyond the context window (1M native from the 4.6 generation)",
         ("https://github.com/anomalyco/models.dev/pull/1221", "https://github.com/anthropics/claude-code/issues/12186"),
         lambda r: api.too_long(native_1m(r))(r), INVOKE),
    Rule("bedrock_invoke.mantle-count-tokens-fields", "the bedrock-mantle Messages API takes the count_tokens fields",
         ("https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-structured-outputs.html",),
         api.top_level_extras(api.COUNT_TOKENS_FIELDS), MANTLE_COUNT),
    Rule("bedrock_invoke.mantle-output-format", "output_config.format is rejected on the bedrock-mantle endpoint",
         ("https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-structured-outputs.html",),
         _output_format, MANTLE_COUNT),
)


class BedrockInvoke(Bedrock):
    id = "bedrock_invoke"
    name = "Bedrock Invoke"
    label = "Invoke"
    litellm_modules = ("litellm/llms/bedrock/messages/invoke_transformations/",)
    litellm_prefix = "bedrock/invoke/"
    alias_suffix = "-bedrock-invoke"
    extra_base_fields = ("body.anthropic_version",)
    beta_fields = ("body.anthropic_beta",)
    contract = CONTRACT

    def native_environment(self, workdir: Path) -> dict[str, str]:
        # signed with throwaway keys (SigV4, as LiteLLM signs), in LiteLLM's region
        return {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1", **access_keys(workdir)}

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        if content_type.startswith("application/vnd.amazon.eventstream"):
            return from_bedrock_invoke_stream(data)
        return super().decode_response(path, content_type, data)


PROVIDER = BedrockInvoke()
