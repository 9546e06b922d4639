"""Azure OpenAI's GPT-5.6 deployments (LiteLLM's `azure/` models): the harness's
`azure_openai` column. Deployment addressing and Azure's `api-key` header on top of
OpenAI's APIs: LiteLLM sends /openai/responses?api-version=... (docs/gpt-columns.md)."""

from __future__ import annotations

from ccmatrix.providers.base import ALNUM, random_text
from ccmatrix.providers.credentials import ENTRA_TOKEN, CredentialMode, api_key, bearer
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider, contract

# an Azure OpenAI resource's endpoint; live runs set AZURE_OPENAI_API_BASE to their own
DEFAULT_API_BASE = "https://ccmatrix-openai.openai.azure.com"
# the API version of Azure OpenAI's Responses API (learn.microsoft.com/azure/ai-foundry/openai/how-to/responses)
API_VERSION = "2025-04-01-preview"
# Microsoft Entra ID's token service: a service principal's secret traded for a bearer token
ENTRA_HOSTS = ("login.microsoftonline.com",)
ENTRA_DOCS = ("https://learn.microsoft.com/en-us/azure/ai-foundry/openai/how-to/managed-identity",
              "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow",
              "https://docs.litellm.ai/docs/providers/azure#entra-id---use-tenant_id-client_id-client_secret")


# a tenant and an app registration of no one's: fixed, since they are in the token
# service's URL and form (the auth cassette's requests); the secret is throwaway
FAKE_TENANT = "00000000-0000-4000-8000-00000000cc01"
FAKE_CLIENT = "00000000-0000-4000-8000-00000000cc02"


def _service_principal(workdir, token_uri=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"AZURE_OPENAI_API_BASE": DEFAULT_API_BASE, "AZURE_TENANT_ID": FAKE_TENANT,
            "AZURE_CLIENT_ID": FAKE_CLIENT, "AZURE_CLIENT_SECRET": random_text(ALNUM + "~._-", 40)}


class AzureOpenAI(GptProvider):
    id = "azure_openai"
    name = "Azure OpenAI"
    label = "Azure OAI"
    hosts = ("*.openai.azure.com",) + ENTRA_HOSTS
    auth_hosts = {host: "entra_token" for host in ENTRA_HOSTS}
    # deployment names, as the harness's and LiteLLM's docs name them (azure/gpt-5.6-sol)
    model_ids = {"sol": "gpt-5.6-sol", "terra": "gpt-5.6-terra", "luna": "gpt-5.6-luna"}
    litellm_prefix = "azure/"
    alias_suffix = "-azure-openai"
    # the live harness's: AZURE_OPENAI_API_BASE + AZURE_OPENAI_API_KEY (_gpt_cells.py)
    credential_modes = (
        CredentialMode(
            "api-key", "an Azure OpenAI resource key (AZURE_OPENAI_API_KEY) at its endpoint (AZURE_OPENAI_API_BASE)",
            (GPT_CELLS, "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference"),
            {"api_base": "os.environ/AZURE_OPENAI_API_BASE", "api_key": "os.environ/AZURE_OPENAI_API_KEY",
             "api_version": API_VERSION},
            ("AZURE_OPENAI_API_BASE", "AZURE_OPENAI_API_KEY"),
            lambda workdir, token_uri: {"AZURE_OPENAI_API_BASE": DEFAULT_API_BASE,
                                        "AZURE_OPENAI_API_KEY": random_text(ALNUM, 84)},
            api_key("api-key"), live_default=True),
        # a service principal (Entra ID): LiteLLM trades its secret for a bearer token
        CredentialMode(
            "entra-id", "a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) traded with "
            "Entra ID for a bearer token", ENTRA_DOCS,
            {"api_base": "os.environ/AZURE_OPENAI_API_BASE", "api_version": API_VERSION,
             "tenant_id": "os.environ/AZURE_TENANT_ID", "client_id": "os.environ/AZURE_CLIENT_ID",
             "client_secret": "os.environ/AZURE_CLIENT_SECRET"},
            ("AZURE_OPENAI_API_BASE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"), _service_principal,
            bearer(ENTRA_TOKEN, "an Entra ID token for its service principal")),
    )
    contract = contract("azure_openai")


PROVIDER = AzureOpenAI()
