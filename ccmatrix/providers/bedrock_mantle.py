"""GPT-5.6 on AWS Bedrock's Mantle endpoint (LiteLLM's `bedrock_mantle/openai.gpt-5.6-*`):
the harness's `bedrock_mantle` column. OpenAI's APIs at bedrock-mantle.<region>.api.aws:
LiteLLM 1.110.2 sends the Responses API (/openai/v1/responses), 1.83.14 and 1.93.0 Chat
Completions (docs/gpt-columns.md)."""

from __future__ import annotations

from ccmatrix.providers import credentials
from ccmatrix.providers.bedrock import (
    AWS_REGION,
    BEDROCK_API_KEYS_DOC,
    HARNESS_ENV,
    LITELLM_BEDROCK_AUTH,
    MANTLE_HOSTS,
    SIGV4_DOC,
    access_keys,
    bedrock_api_key,
)
from ccmatrix.providers.credentials import CredentialMode
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider, contract

MANTLE_DOC = "https://docs.aws.amazon.com/bedrock/latest/userguide/bedrock-mantle.html"


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
        CredentialMode(
            "sigv4", "access keys from the environment, each request SigV4-signed for bedrock-mantle",
            (SIGV4_DOC, LITELLM_BEDROCK_AUTH, MANTLE_DOC),
            {"aws_region_name": AWS_REGION, "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
             "aws_secret_access_key": "os.environ/AWS_SECRET_ACCESS_KEY",
             "aws_session_token": "os.environ/AWS_SESSION_TOKEN"},
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), access_keys,
            credentials.sigv4("bedrock", AWS_REGION, temporary=False), optional_variables=("AWS_SESSION_TOKEN",)),
    )
    contract = contract("bedrock_mantle")


PROVIDER = BedrockMantle()
