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


def build_config(providers: list[catalog.Provider] | None = None) -> dict[str, Any]:
    """One deployment per (provider, tier), named as the published matrix names it."""
    model_list = [
        {
            "model_name": catalog.proxy_model_name(p, t),
            "litellm_params": p.litellm_params(p.model_ids[t.id]),
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
