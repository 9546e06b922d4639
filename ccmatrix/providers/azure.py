"""Azure AI Foundry's Anthropic endpoint (LiteLLM's `azure_ai/` models)."""

from __future__ import annotations

import json
from pathlib import Path

from ccmatrix.providers.anthropic import first_party_rules
from ccmatrix.providers.base import ALNUM, ErrorAnswer, Provider, random_text
from ccmatrix.providers.credentials import CredentialMode, api_key

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
    # the live harness's: AZURE_AI_API_KEY and AZURE_AI_API_BASE (its env example and config)
    credential_modes = (CredentialMode(
        "api-key", "a Foundry resource key (AZURE_AI_API_KEY) at the resource's endpoint (AZURE_AI_API_BASE)",
        ("https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/test_config.yaml",
         "https://learn.microsoft.com/en-us/azure/ai-foundry/foundry-models/how-to/use-foundry-models-claude"),
        {"api_base": "os.environ/AZURE_AI_API_BASE", "api_key": "os.environ/AZURE_AI_API_KEY"},
        ("AZURE_AI_API_BASE", "AZURE_AI_API_KEY"),
        lambda workdir, token_uri: {"AZURE_AI_API_BASE": DEFAULT_API_BASE, "AZURE_AI_API_KEY": random_text(ALNUM, 32)},
        api_key("x-api-key", "api-key"), live_default=True),)
    # Foundry serves the first-party Messages API under /anthropic
    contract = first_party_rules("azure", prefix="/anthropic")

    def unauthenticated(self, message: str, seed: str) -> ErrorAnswer:
        # Azure's gateway answers before the model does, in Azure's own shape
        return 401, {"content-type": "application/json"}, \
            json.dumps({"error": {"code": "401", "message": message}}).encode()

    def native_environment(self, workdir: Path) -> dict[str, str]:
        return {"CLAUDE_CODE_USE_FOUNDRY": "1", "ANTHROPIC_FOUNDRY_BASE_URL": DEFAULT_API_BASE,
                "ANTHROPIC_FOUNDRY_API_KEY": random_text(ALNUM, 32)}


PROVIDER = Azure()
