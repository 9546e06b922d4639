"""Azure AI Foundry's Anthropic endpoint (LiteLLM's `azure_ai/` models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccmatrix.providers.anthropic import first_party_rules
from ccmatrix.providers.base import ALNUM, DirectUpstream, Provider, random_text

# a Foundry resource name; live runs set AZURE_AI_API_BASE to their own
DEFAULT_API_BASE = "https://ccmatrix-foundry.services.ai.azure.com/anthropic"


class Azure(Provider):
    id = "azure"
    name = "Azure AI Foundry"
    label = "Azure"
    litellm_modules = ("litellm/llms/azure_ai/anthropic/messages_transformation.py",)
    hosts = ("*.services.ai.azure.com",)
    model_ids = {"haiku": "claude-haiku-4-5", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}
    litellm_prefix = "azure_ai/"
    alias_suffix = "-azure"
    extra_base_fields = ("body.model", "body.stream")
    beta_fields = ("headers.anthropic-beta",)
    live_variables = ("AZURE_AI_API_BASE", "AZURE_AI_API_KEY")
    # Foundry serves the first-party Messages API under /anthropic
    contract = first_party_rules("azure", prefix="/anthropic")

    def litellm_params(self, model_id: str) -> dict[str, Any]:
        return {
            "model": self.litellm_prefix + model_id,
            "api_base": "os.environ/AZURE_AI_API_BASE",
            "api_key": "os.environ/AZURE_AI_API_KEY",
        }

    def fake_credentials(self, workdir: Path, token_uri: str | None = None) -> dict[str, str]:
        return {"AZURE_AI_API_BASE": DEFAULT_API_BASE, "AZURE_AI_API_KEY": random_text(ALNUM, 32)}

    def direct_upstream(self, url: str) -> DirectUpstream:
        return DirectUpstream(params={"api_base": url + "/anthropic"}, env={"AZURE_AI_API_BASE": url + "/anthropic"})

    def native_environment(self, workdir: Path) -> dict[str, str]:
        return {"CLAUDE_CODE_USE_FOUNDRY": "1", "ANTHROPIC_FOUNDRY_BASE_URL": DEFAULT_API_BASE,
                "ANTHROPIC_FOUNDRY_API_KEY": random_text(ALNUM, 32)}


PROVIDER = Azure()
