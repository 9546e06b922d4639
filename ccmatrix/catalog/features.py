"""The matrix as data: providers (columns), tiers (models), features (rows), cells.

Everything else in ccmatrix is driven from here. Adding a row means adding a
`Feature` below (plus its captured Claude Code traffic); no test file changes.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR  # noqa: F401  (re-exported: the default everywhere)

# The LiteLLM release `ccmatrix run` replays against when none is named.
DEFAULT_LITELLM_VERSION = "1.108.7"
# The Claude Code CLI release whose traffic the bundled client captures come from.
CLAUDE_CODE_VERSION = "2.1.126"


class CatalogError(ValueError):
    """An unknown feature, provider or tier, named by the user or a file."""


@dataclass(frozen=True)
class Tier:
    id: str  # short id used in file names and test ids
    alias: str  # the model name Claude Code is given (`--model`)
    name: str


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    # host patterns (fnmatch) the provider's upstream traffic goes to; the Vertex
    # token endpoint belongs to vertex_ai.
    hosts: tuple[str, ...]
    # tier id -> the provider's model id
    model_ids: dict[str, str]
    # the LiteLLM `model` prefix, e.g. "bedrock/invoke/"
    litellm_prefix: str
    # request fields every row relies on, for this provider (diff paths, see diff.py)
    base_fields: tuple[str, ...]

    def owns_host(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.hosts)


@dataclass(frozen=True)
class Feature:
    id: str
    name: str
    # the captured Claude Code conversation this row sends (cassettes/clients/<scenario>/)
    scenario: str | None
    # load-bearing upstream request fields, beyond the provider's base fields:
    # provider id (or "*") -> diff path patterns
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # client-side checks (names in checks.py)
    checks: tuple[str, ...] = ()
    # (provider id or "*", tier id or "*") -> reason the cell does not apply
    not_applicable: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def implemented(self) -> bool:
        return self.scenario is not None

    def load_bearing(self, provider: Provider) -> tuple[str, ...]:
        return provider.base_fields + self.fields.get("*", ()) + self.fields.get(provider.id, ())

    def not_applicable_reason(self, provider: str, tier: str) -> str | None:
        for key in ((provider, tier), (provider, "*"), ("*", tier), ("*", "*")):
            if key in self.not_applicable:
                return self.not_applicable[key]
        return None


TIERS: tuple[Tier, ...] = (
    Tier("haiku", "claude-haiku-4-5", "Haiku 4.5"),
    Tier("sonnet", "claude-sonnet-4-6", "Sonnet 4.6"),
    Tier("opus", "claude-opus-4-7", "Opus 4.7"),
)

_BEDROCK_IDS = {
    "haiku": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "sonnet": "us.anthropic.claude-sonnet-4-6",
    "opus": "us.anthropic.claude-opus-4-7",
}
# Anthropic Messages bodies (first party, Vertex, Bedrock Invoke, Foundry)
_MESSAGES_FIELDS = ("method", "path", "body.messages", "body.max_tokens", "body.system")

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        id="anthropic",
        name="Anthropic",
        hosts=("api.anthropic.com",),
        model_ids={"haiku": "claude-haiku-4-5-20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"},
        litellm_prefix="anthropic/",
        base_fields=_MESSAGES_FIELDS + ("body.model", "body.stream", "headers.anthropic-version"),
    ),
    Provider(
        id="bedrock_invoke",
        name="Bedrock Invoke",
        # bedrock-mantle: Bedrock's Anthropic-compatible API (LiteLLM's count_tokens route)
        hosts=("bedrock-runtime.*.amazonaws.com", "bedrock-mantle.*.api.aws"),
        model_ids=_BEDROCK_IDS,
        litellm_prefix="bedrock/invoke/",
        base_fields=_MESSAGES_FIELDS + ("body.anthropic_version",),
    ),
    Provider(
        id="bedrock_converse",
        name="Bedrock Converse",
        # bedrock-mantle: Bedrock's Anthropic-compatible API (LiteLLM's count_tokens route)
        hosts=("bedrock-runtime.*.amazonaws.com", "bedrock-mantle.*.api.aws"),
        model_ids=_BEDROCK_IDS,
        litellm_prefix="bedrock/converse/",
        base_fields=("method", "path", "body.messages", "body.system", "body.inferenceConfig.maxTokens"),
    ),
    Provider(
        id="vertex_ai",
        name="Vertex AI",
        hosts=("*-aiplatform.googleapis.com", "aiplatform.googleapis.com", "oauth2.googleapis.com"),
        model_ids={"haiku": "claude-haiku-4-5@20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"},
        litellm_prefix="vertex_ai/",
        base_fields=_MESSAGES_FIELDS + ("body.anthropic_version",),
    ),
    Provider(
        id="azure",
        name="Azure AI Foundry",
        hosts=("*.services.ai.azure.com",),
        model_ids={"haiku": "claude-haiku-4-5", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"},
        litellm_prefix="azure_ai/",
        base_fields=_MESSAGES_FIELDS + ("body.model", "body.stream"),
    ),
)

def _fields(messages_api: tuple[str, ...], converse: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Load-bearing fields for the four Anthropic-Messages-shaped providers and Converse."""
    out = {p: messages_api for p in ("anthropic", "bedrock_invoke", "vertex_ai", "azure")}
    out["bedrock_converse"] = converse
    return out


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

# Rows in the published order. `fields` name what must reach the provider for the
# feature to work (beyond the provider's base fields); `checks` what Claude Code
# needs back (checks.py). docs/rows.md explains each choice.
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
        fields={p: _THINKING[p] + _TOOLS[p] for p in _THINKING},
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
            "anthropic": ("body.tools[*].defer_loading", "body.tools[*].type",
                          "headers.anthropic-beta.advanced-tool-use-2025-11-20"),
        },
        checks=("tool_use_roundtrip", "assistant_text", "well_formed_stream"),
        not_applicable={("*", "haiku"): "Claude Code 2.1.126 does not use tool search with Haiku 4.5 "
                                        "(no ToolSearch tool, no advanced-tool-use beta in its requests)"},
    ),
    Feature(
        id="long_context_1m",
        name="Long context (1M)",
        scenario="long_context_1m",
        fields={
            "anthropic": ("headers.anthropic-beta.context-1m-2025-08-07",),
            "azure": ("headers.anthropic-beta.context-1m-2025-08-07",),
            "vertex_ai": ("headers.anthropic-beta.context-1m-2025-08-07", "body.anthropic_beta.context-1m-2025-08-07"),
            "bedrock_invoke": ("body.anthropic_beta.context-1m-2025-08-07",),
            "bedrock_converse": ("body.additionalModelRequestFields.anthropic_beta.context-1m-2025-08-07",),
        },
        checks=_STREAM_CHECKS,
        not_applicable=_NO_1M_HAIKU,
    ),
)

# Older layouts of the published matrix used other ids for some rows.
FEATURE_ALIASES = {"extended_thinking": "thinking"}


# Token endpoints: their exchanges belong to the run, not to a cell (LiteLLM caches
# tokens, so only the first cell would see one); they get one cassette each.
AUTH_HOSTS = {"oauth2.googleapis.com": "google_oauth2_token"}


def auth_cassette_path(name: str, root: Path = DEFAULT_CASSETTE_DIR) -> Path:
    return root / "auth" / f"{name}.json"


_FEATURES = {f.id: f for f in FEATURES}
_PROVIDERS = {p.id: p for p in PROVIDERS}
_TIERS = {t.id: t for t in TIERS}
_TIERS_BY_ALIAS = {t.alias: t for t in TIERS}


def _lookup(table: dict, key: str, kind: str):
    try:
        return table[key]
    except KeyError:
        known = ", ".join(table)
        raise CatalogError(f"unknown {kind} {key!r}; known: {known}") from None


def feature(feature_id: str) -> Feature:
    return _lookup(_FEATURES, FEATURE_ALIASES.get(feature_id, feature_id), "feature")


def provider(provider_id: str) -> Provider:
    return _lookup(_PROVIDERS, provider_id, "provider")


def tier(tier_id: str) -> Tier:
    """A tier by id ("sonnet") or Claude Code alias ("claude-sonnet-4-6")."""
    if tier_id in _TIERS_BY_ALIAS:
        return _TIERS_BY_ALIAS[tier_id]
    return _lookup(_TIERS, tier_id, "tier")


@dataclass(frozen=True)
class Cell:
    """One (feature, provider, tier): the unit a cassette and a verdict belong to."""

    feature: Feature
    provider: Provider
    tier: Tier

    @property
    def id(self) -> str:
        return f"{self.feature.id}/{self.provider.id}/{self.tier.id}"

    @property
    def proxy_model(self) -> str:
        """The model name the LiteLLM proxy serves this (provider, tier) under."""
        return proxy_model_name(self.provider, self.tier)

    @property
    def model_id(self) -> str:
        return self.provider.model_ids[self.tier.id]

    @property
    def not_applicable_reason(self) -> str | None:
        return self.feature.not_applicable_reason(self.provider.id, self.tier.id)

    def cassette_path(self, root: Path = DEFAULT_CASSETTE_DIR) -> Path:
        return root / self.feature.id / self.provider.id / f"{self.tier.id}.json"

    @classmethod
    def parse(cls, cell_id: str) -> "Cell":
        parts = cell_id.split("/")
        if len(parts) != 3:
            raise CatalogError(f"cell id {cell_id!r} is not feature/provider/tier")
        return cls(feature(parts[0]), provider(parts[1]), tier(parts[2]))


def proxy_model_name(p: Provider, t: Tier) -> str:
    # matches the aliases of the published matrix, e.g. "claude-haiku-4-5-bedrock-converse"
    return f"{t.alias}-{p.id.replace('_', '-')}"


def select(
    features: Iterable[str] = (),
    providers: Iterable[str] = (),
    tiers: Iterable[str] = (),
    implemented_only: bool = True,
) -> list[Cell]:
    """Cells in matrix order, narrowed by ids (empty = all). Unknown ids raise CatalogError."""
    fs = [feature(f) for f in features] or list(FEATURES)
    ps = [provider(p) for p in providers] or list(PROVIDERS)
    ts = [tier(t) for t in tiers] or list(TIERS)
    return [
        Cell(f, p, t)
        for f in FEATURES
        if f in fs and (f.implemented or not implemented_only)
        for p in PROVIDERS
        if p in ps
        for t in TIERS
        if t in ts
    ]
