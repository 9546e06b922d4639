"""The LiteLLM proxy config, written the way a LiteLLM user writes it.

Real provider endpoints and hostnames, credentials from the environment
(`os.environ/...`), no `api_base` pointing at localhost: ccmatrix sits between
LiteLLM and the providers as an HTTPS proxy, so LiteLLM runs exactly as in
production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ccmatrix import catalog

MASTER_KEY = "sk-ccmatrix-local-proxy"
AWS_REGION = "us-east-1"
VERTEX_LOCATION = "us-east5"
# a Foundry resource name; live runs set AZURE_AI_API_BASE to their own
DEFAULT_AZURE_API_BASE = "https://ccmatrix-foundry.services.ai.azure.com/anthropic"


def _litellm_params(p: catalog.Provider, model_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"model": p.litellm_prefix + model_id}
    if p.id == "anthropic":
        params["api_key"] = "os.environ/ANTHROPIC_API_KEY"
    elif p.id in ("bedrock_invoke", "bedrock_converse"):
        params.update(
            aws_region_name=AWS_REGION,
            aws_access_key_id="os.environ/AWS_ACCESS_KEY_ID",
            aws_secret_access_key="os.environ/AWS_SECRET_ACCESS_KEY",
            aws_session_token="os.environ/AWS_SESSION_TOKEN",
        )
    elif p.id == "vertex_ai":
        params.update(
            vertex_project="os.environ/VERTEXAI_PROJECT",
            vertex_location=VERTEX_LOCATION,
            vertex_credentials="os.environ/VERTEXAI_CREDENTIALS",
        )
    elif p.id == "azure":
        params.update(api_base="os.environ/AZURE_AI_API_BASE", api_key="os.environ/AZURE_AI_API_KEY")
    else:  # pragma: no cover - the catalog and this function change together
        raise catalog.CatalogError(f"no LiteLLM config for provider {p.id!r}")
    return params


def build_config(providers: list[catalog.Provider] | None = None) -> dict[str, Any]:
    model_list = [
        {
            "model_name": catalog.proxy_model_name(p, t),
            "litellm_params": _litellm_params(p, p.model_ids[t.id]),
        }
        for p in providers or catalog.PROVIDERS
        for t in catalog.TIERS
    ]
    return {
        "model_list": model_list,
        # no retries: a replay mismatch must surface, not be retried into a different error
        "litellm_settings": {"num_retries": 0, "request_timeout": 120},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


def write_config(path: Path, providers: list[catalog.Provider] | None = None) -> Path:
    path.write_text(yaml.safe_dump(build_config(providers), sort_keys=False))
    return path
