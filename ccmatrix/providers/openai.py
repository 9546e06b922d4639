"""OpenAI's own API for GPT-5.6 (LiteLLM's `openai/` models): the harness's `openai` column."""

from __future__ import annotations

from ccmatrix.providers import credentials
from ccmatrix.providers.base import ALNUM, random_text
from ccmatrix.providers.credentials import CredentialMode
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider, contract

API_KEY_PREFIX = "sk-proj-ccmatrix-example-"  # offline stand-ins only (credentials.py's marks)


class OpenAI(GptProvider):
    id = "openai"
    name = "OpenAI"
    label = "OpenAI"
    hosts = ("api.openai.com",)
    model_ids = {"sol": "gpt-5.6-sol", "terra": "gpt-5.6-terra", "luna": "gpt-5.6-luna"}
    litellm_prefix = "openai/"
    alias_suffix = "-openai"
    # the live harness's: OPENAI_API_KEY (_gpt_cells.py), sent as a bearer token
    # (platform.openai.com/docs/api-reference/authentication)
    credential_modes = (CredentialMode(
        "api-key", "an OpenAI API key (OPENAI_API_KEY), sent as a bearer token",
        (GPT_CELLS, "https://platform.openai.com/docs/api-reference/authentication"),
        {"api_key": "os.environ/OPENAI_API_KEY"}, ("OPENAI_API_KEY",),
        lambda workdir, token_uri: {"OPENAI_API_KEY": API_KEY_PREFIX + random_text(ALNUM, 40)},
        credentials.bearer(API_KEY_PREFIX, "an OpenAI API key (OPENAI_API_KEY)"), live_default=True),)
    contract = contract("openai")


PROVIDER = OpenAI()
