"""Azure OpenAI's GPT-5.6 deployments (LiteLLM's `azure/` models): the harness's
`azure_openai` column. Deployment addressing and Azure's `api-key` header on top of
OpenAI's APIs: LiteLLM sends /openai/responses?api-version=... (docs/gpt-columns.md)."""

from __future__ import annotations

from ccmatrix.providers.base import ALNUM, random_text
from ccmatrix.providers.credentials import CredentialMode, api_key
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider, contract

# an Azure OpenAI resource's endpoint; live runs set AZURE_OPENAI_API_BASE to their own
DEFAULT_API_BASE = "https://ccmatrix-openai.openai.azure.com"
# the API version of Azure OpenAI's Responses API (learn.microsoft.com/azure/ai-foundry/openai/how-to/responses)
API_VERSION = "2025-04-01-preview"


class AzureOpenAI(GptProvider):
    id = "azure_openai"
    name = "Azure OpenAI"
    label = "Azure OAI"
    hosts = ("*.openai.azure.com",)
    # deployment names, as the harness's and LiteLLM's docs name them (azure/gpt-5.6-sol)
    model_ids = {"sol": "gpt-5.6-sol", "terra": "gpt-5.6-terra", "luna": "gpt-5.6-luna"}
    litellm_prefix = "azure/"
    alias_suffix = "-azure-openai"
    # the live harness's: AZURE_OPENAI_API_BASE + AZURE_OPENAI_API_KEY (_gpt_cells.py)
    credential_modes = (CredentialMode(
        "api-key", "an Azure OpenAI resource key (AZURE_OPENAI_API_KEY) at its endpoint (AZURE_OPENAI_API_BASE)",
        (GPT_CELLS, "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference"),
        {"api_base": "os.environ/AZURE_OPENAI_API_BASE", "api_key": "os.environ/AZURE_OPENAI_API_KEY",
         "api_version": API_VERSION},
        ("AZURE_OPENAI_API_BASE", "AZURE_OPENAI_API_KEY"),
        lambda workdir, token_uri: {"AZURE_OPENAI_API_BASE": DEFAULT_API_BASE,
                                    "AZURE_OPENAI_API_KEY": random_text(ALNUM, 84)},
        api_key("api-key"), live_default=True),)
    contract = contract("azure_openai")


PROVIDER = AzureOpenAI()
