"""The features: the matrix's rows, as data.

Adding a row means adding a `Feature` below (plus its Claude Code scenario in
ccmatrix/client/scenarios.py and its recordings); no test file changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ccmatrix.providers import Provider


@dataclass(frozen=True)
class Feature:
    id: str
    name: str
    # the captured Claude Code conversation this row sends (cassettes/clients/<scenario>/)
    scenario: str | None
    # load-bearing upstream request fields beyond the provider's base fields (diff path
    # patterns, see ccmatrix.cassette.field_diff), keyed by "*" (every provider), a
    # dialect id ("messages", "converse": where the field sits in that body shape) or a
    # provider id (what only that provider must carry)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Anthropic betas the row needs to reach the provider: load-bearing wherever the
    # provider carries betas (Provider.beta_fields)
    betas: tuple[str, ...] = ()
    # client-side checks (names in ccmatrix/verdict/checks.py)
    checks: tuple[str, ...] = ()
    # (provider id or "*", tier id or "*") -> reason the cell tier does not apply
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def implemented(self) -> bool:
        return self.scenario is not None

    def load_bearing(self, provider: Provider) -> tuple[str, ...]:
        return (
            provider.base_fields
            + self.fields.get("*", ())
            + self.fields.get(provider.dialect.id, ())
            + self.fields.get(provider.id, ())
            + tuple(path for beta in self.betas for path in provider.beta_paths(beta))
        )

    def not_applicable_reason(self, provider: str, tier: str) -> str | None:
        for key in ((provider, tier), (provider, "*"), ("*", tier), ("*", "*")):
            if key in self.not_applicable:
                return self.not_applicable[key]
        return None


def _fields(messages: tuple[str, ...], converse: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A row's fields in Anthropic Messages bodies and in Converse bodies."""
    return {"messages": messages, "converse": converse}


_THINKING = _fields(
    ("body.thinking", "body.output_config.effort"),
    ("body.additionalModelRequestFields.thinking", "body.additionalModelRequestFields.output_config.effort"),
)
_TOOLS = _fields(("body.tools", "body.tool_choice"), ("body.toolConfig",))
_CACHE = _fields(
    ("body.system[*].cache_control", "body.tools[*].cache_control"),
    ("body.system[*].cachePoint", "body.toolConfig.tools[*].cachePoint"),
)
_STREAM_CHECKS = ("assistant_text", "well_formed_stream", "upstream_content_intact")
_NO_1M_HAIKU = {("*", "haiku"): "Haiku 4.5 has no 1M-token context window"}

# What `--json-schema` asks Claude Code for in the structured_outputs row: the
# scenario passes it to the CLI, the structured_output check holds the answer to it.
STRUCTURED_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}

# Rows in the published order. `fields` name what must reach the provider for the
# feature to work (beyond the provider's base fields); `checks` what Claude Code
# needs back (ccmatrix/verdict/checks.py). docs/rows.md explains each choice.
FEATURES: tuple[Feature, ...] = (
    Feature(
        id="basic_messaging_non_streaming",
        name="Basic messaging (non-streaming)",
        scenario="basic_messaging_non_streaming",
        checks=("assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="basic_messaging_streaming",
        name="Basic messaging (streaming)",
        scenario="basic_messaging_streaming",
        checks=_STREAM_CHECKS,
    ),
    Feature(
        id="tool_use",
        name="Tool use",
        scenario="tool_use",
        fields=_TOOLS,
        checks=("tool_use_roundtrip", "assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="prompt_caching_5m",
        name="Prompt caching (5m TTL)",
        # Claude Code caches by default: the basic conversation is the trigger
        scenario="basic_messaging_streaming",
        fields=_CACHE,
        checks=("cache_usage", "assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="vision",
        name="Vision",
        scenario="vision",
        checks=("tool_use_roundtrip", "assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="thinking",
        name="Thinking",
        scenario="thinking",
        fields=_THINKING,
        checks=("thinking_block",) + _STREAM_CHECKS,
    ),
    Feature(
        id="tool_use_streaming",
        name="Tool use (streaming / fine-grained)",
        scenario="tool_use",
        fields=_TOOLS,
        checks=("tool_input_streamed", "tool_use_roundtrip") + _STREAM_CHECKS,
    ),
    Feature(
        id="thinking_with_tool_use",
        name="Extended thinking + tool use",
        scenario="thinking_with_tool_use",
        fields={dialect: _THINKING[dialect] + _TOOLS[dialect] for dialect in _THINKING},
        checks=("thinking_block", "tool_use_roundtrip") + _STREAM_CHECKS,
    ),
    Feature(
        id="pdf_input",
        name="PDF document input",
        scenario="pdf_input",
        checks=("tool_use_roundtrip", "assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="prompt_caching_1h",
        name="Prompt caching (1h TTL)",
        scenario="prompt_caching_1h",
        fields=_CACHE,
        checks=("cache_usage", "assistant_text", "upstream_content_intact"),
    ),
    Feature(
        id="web_search",
        name="Web search (server tool)",
        scenario="web_search",
        fields=_TOOLS,
        checks=("web_search_results",) + _STREAM_CHECKS,
    ),
    Feature(
        id="structured_outputs",
        name="Structured outputs",
        scenario="structured_outputs",
        fields=_TOOLS,
        checks=("structured_output", "upstream_content_intact"),
    ),
    Feature(
        id="count_tokens",
        name="count_tokens endpoint",
        scenario="count_tokens",
        fields=_fields(("body.tools",), ("body.toolConfig",)),
        checks=("input_tokens_counted",),
    ),
    Feature(
        id="tool_search",
        name="Tool search (MCP discovery)",
        scenario="tool_search",
        fields={
            **_fields(("body.tools[*].defer_loading", "body.tools[*].type"), ("body.toolConfig",)),
            # the advanced-tool-use beta is load-bearing on first party only: what the
            # other providers must receive is the subject of the provider-contract work
            "anthropic": ("headers.anthropic-beta.advanced-tool-use-2025-11-20",),
        },
        checks=("tool_use_roundtrip", "assistant_text", "well_formed_stream"),
        not_applicable={("*", "haiku"): "Claude Code 2.1.126 does not use tool search with Haiku 4.5 "
                                        "(no ToolSearch tool, no advanced-tool-use beta in its requests)"},
    ),
    Feature(
        id="long_context_1m",
        name="Long context (1M)",
        scenario="long_context_1m",
        betas=("context-1m-2025-08-07",),
        checks=_STREAM_CHECKS,
        not_applicable=_NO_1M_HAIKU,
    ),
)

# Older layouts of the published matrix used other ids for some rows.
FEATURE_ALIASES = {"extended_thinking": "thinking"}
