"""GPT-5.6 on AWS Bedrock's Mantle endpoint (LiteLLM's `bedrock_mantle/openai.gpt-5.6-*`):
the harness's `bedrock_mantle` column. OpenAI's APIs at bedrock-mantle.<region>.api.aws:
LiteLLM 1.110.2 sends the Responses API (/openai/v1/responses), 1.83.14 and 1.93.0 Chat
Completions (docs/gpt-columns.md)."""

from __future__ import annotations

from ccmatrix.providers import credentials
from ccmatrix.providers.bedrock import AWS_REGION, BEDROCK_API_KEYS_DOC, HARNESS_ENV, MANTLE_HOSTS, bedrock_api_key
from ccmatrix.providers.bedrock import CREDENTIAL_MODES as BEDROCK_MODES
from ccmatrix.providers.credentials import CredentialMode
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider, contract


class BedrockMantle(GptProvider):
    id = "bedrock_mantle"
    name = "Bedrock Mantle"
    label = "Mantle"
    hosts = MANTLE_HOSTS  # shared with Bedrock's count_tokens route; a cell's own provider is asked first
    model_ids = {"sol": "openai.gpt-5.6-sol", "terra": "openai.gpt-5.6-terra", "luna": "openai.gpt-5.6-luna"}
    litellm_prefix = "bedrock_mantle/"
    alias_suffix = "-bedrock-mantle"
    credential_modes = (
        # the live VM's one AWS credential is a Bedrock API key (its env example); Mantle takes
        # it as the deployment's api_key (LiteLLM's docs, encrypted_content_affinity)
        CredentialMode(
            "api-key", "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) as the deployment's api_key, a bearer token",
            (HARNESS_ENV, GPT_CELLS, BEDROCK_API_KEYS_DOC),
            {"aws_region_name": AWS_REGION, "api_key": "os.environ/AWS_BEARER_TOKEN_BEDROCK"},
            ("AWS_BEARER_TOKEN_BEDROCK",), bedrock_api_key,
            credentials.bearer(credentials.BEDROCK_API_KEY_PREFIX, "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"),
            live_default=True),
        # access keys, each request SigV4-signed: Bedrock's own mode (LiteLLM signs Mantle's
        # requests for the bedrock service in the deployment's region, measured in 1.110.2)
        next(m for m in BEDROCK_MODES if m.id == "sigv4"),
    )
    contract = contract("bedrock_mantle")


PROVIDER = BedrockMantle()
