"""Anthropic's first-party API (api.anthropic.com)."""

from __future__ import annotations

from ccmatrix.providers import messages_api as api
from ccmatrix.providers.base import ALNUM, Provider, random_text
from ccmatrix.providers.contract import Rule, on_path
from ccmatrix.providers.credentials import CredentialMode, api_key

# betas the first-party API is known to take; anything else gets a warning only (the
# list moves with every release, and a stale list must not turn a cell red)
KNOWN_BETAS = frozenset({
    "claude-code-20250219", "context-management-2025-06-27", "interleaved-thinking-2025-05-14",
    "prompt-caching-scope-2026-01-05", "effort-2025-11-24", "token-counting-2024-11-01",
    "advanced-tool-use-2025-11-20", "context-1m-2025-08-07", "fine-grained-tool-streaming-2025-05-14",
    "oauth-2025-04-20", "web-search-2025-03-05", "structured-outputs-2025-12-15", "compact-2026-01-12",
    "files-api-2025-04-14", "token-efficient-tools-2025-02-19", "output-128k-2025-02-19",
    "mcp-client-2025-11-20", "redact-thinking-2026-02-12", "search-results-2025-06-09",
    # sent by Claude Code 2.1.332 to the first-party API (docs/claude-code-versions.md):
    # the CLI's own requests to its own API are the evidence
    "thinking-display-updates-2026-08-18", "thinking-token-count-2026-05-13", "extended-cache-ttl-2025-04-11",
})


def first_party_rules(provider: str, prefix: str = "") -> tuple[Rule, ...]:
    """The first-party API's contract; Azure AI Foundry serves the same API under /anthropic."""
    messages = on_path(rf"^{prefix}/v1/messages$")
    counting = on_path(rf"^{prefix}/v1/messages/count_tokens$")
    return (
        *api.messages_rules(provider, api.FIRST_PARTY_FIELDS, ("model", "messages", "max_tokens"), messages),
        Rule(f"{provider}.count-tokens-fields", "count_tokens takes fewer fields than messages",
             ("https://platform.claude.com/docs/en/api/messages-count-tokens",),
             api.top_level_extras(api.COUNT_TOKENS_FIELDS), counting),
        Rule(f"{provider}.count-tokens-required", "count_tokens needs model and messages",
             ("https://platform.claude.com/docs/en/api/messages-count-tokens",),
             api.required("model", "messages"), counting),
        Rule(f"{provider}.context-management-beta",
             "context_management is only known with its beta in the anthropic-beta header",
             ("https://github.com/anthropics/claude-code/issues/64510", "https://github.com/BerriAI/litellm/pull/22321"),
             api.context_management_needs_header_beta, messages),
        Rule(f"{provider}.prompt-too-long", "input beyond the context window (200k without the 1M beta)",
             ("https://github.com/anthropics/claude-code/issues/12186",), api.too_long(), messages),
        Rule(f"{provider}.beta-header-values", "an anthropic-beta value the API does not know is refused",
             (api.BETA_HEADERS_DOC, "https://github.com/anthropics/claude-code/issues/34033"),
             api.unexpected_header_betas(allowed=KNOWN_BETAS), lambda r: messages(r) or counting(r),
             confidence="reported", action="warn"),
    )


class Anthropic(Provider):
    id = "anthropic"
    name = "Anthropic"
    label = "Anthropic"
    litellm_modules = ("litellm/llms/anthropic/experimental_pass_through/messages/transformation.py",)
    hosts = ("api.anthropic.com",)
    model_ids = {"haiku": "claude-haiku-4-5-20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}
    litellm_prefix = "anthropic/"
    extra_base_fields = ("body.model", "body.stream", "headers.anthropic-version")
    beta_fields = ("headers.anthropic-beta",)
    credential_modes = (CredentialMode(
        "api-key", "an API key (ANTHROPIC_API_KEY), sent as x-api-key",
        ("https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/test_config.yaml",
         "https://docs.claude.com/en/api/overview#authentication"),
        {"api_key": "os.environ/ANTHROPIC_API_KEY"}, ("ANTHROPIC_API_KEY",),
        lambda workdir, token_uri: {"ANTHROPIC_API_KEY": "sk-ant-api03-" + random_text(ALNUM, 40)},
        api_key("x-api-key"), live_default=True),)
    contract = first_party_rules("anthropic")

    native_reference = "client"  # what Claude Code sends LiteLLM is its first-party request


PROVIDER = Anthropic()
