"""Anthropic's first-party API (api.anthropic.com)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ccmatrix.providers.base import ALNUM, DirectUpstream, Provider, random_text


class Anthropic(Provider):
    id = "anthropic"
    name = "Anthropic"
    label = "Anthropic"
    hosts = ("api.anthropic.com",)
    model_ids = {"haiku": "claude-haiku-4-5-20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}
    litellm_prefix = "anthropic/"
    extra_base_fields = ("body.model", "body.stream", "headers.anthropic-version")
    beta_fields = ("headers.anthropic-beta",)
    live_variables = ("ANTHROPIC_API_KEY",)

    def litellm_params(self, model_id: str) -> dict[str, Any]:
        return {"model": self.litellm_prefix + model_id, "api_key": "os.environ/ANTHROPIC_API_KEY"}

    def fake_credentials(self, workdir: Path, token_uri: str | None = None) -> dict[str, str]:
        return {"ANTHROPIC_API_KEY": "sk-ant-api03-" + random_text(ALNUM, 40)}

    def direct_upstream(self, url: str) -> DirectUpstream:
        return DirectUpstream(params={"api_base": url})  # LiteLLM appends /v1/messages


PROVIDER = Anthropic()
