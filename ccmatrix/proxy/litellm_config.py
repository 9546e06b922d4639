"""The LiteLLM proxy config, written the way a LiteLLM user writes it.

Real provider endpoints and hostnames, credentials from the environment
(`os.environ/...`), no `api_base` pointing at localhost: ccmatrix sits between
LiteLLM and the providers as an HTTPS proxy, so LiteLLM runs exactly as in
production. By default the config carries the three settings the published live run
uses (BerriAI/litellm `tests/e2e/claude_code/test_config.yaml`), which change what
LiteLLM sends upstream: forwarded client headers (Claude Code's betas), dropped
unsupported params, modified params. `--config FILE` runs a user's own config instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ccmatrix import catalog
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice

MASTER_KEY = "sk-ccmatrix-local-proxy"
DEFAULT_LABEL = "ccmatrix (the live harness's settings)"

# the live harness's settings, word for word
LIVE_GENERAL_SETTINGS: dict[str, Any] = {"forward_client_headers_to_llm_api": True}
LIVE_LITELLM_SETTINGS: dict[str, Any] = {"drop_params": True, "modify_params": True}
# ccmatrix's own: no retries (a replay mismatch must surface, not be retried into
# another error), a bounded request
OWN_LITELLM_SETTINGS: dict[str, Any] = {"num_retries": 0, "request_timeout": 120}

_ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


class ProxyConfigError(CcmatrixError):
    """A --config file that does not load, naming the file and the key."""


@dataclass(frozen=True)
class ProxyConfig:
    """The config a run's LiteLLM gets, and which model names it serves."""

    document: dict[str, Any]
    label: str  # what provenance and the matrix name it by
    model_names: frozenset[str]

    def serves(self, cell: catalog.CellTier) -> bool:
        return cell.proxy_model in self.model_names

    def env_names(self) -> set[str]:
        """Every `os.environ/NAME` the config reads."""
        names: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
            elif isinstance(value, str) and (m := _ENV_REF.match(value)):
                names.add(m[1])

        walk(self.document)
        return names


def build_config(providers: list[catalog.Provider] | None = None,
                 credentials: CredentialChoice = DEFAULT_CHOICE) -> dict[str, Any]:
    """One deployment per (provider, tier), named as the published matrix names it, set up
    for the provider's credential mode (default: the live harness's); none for a column
    that does not apply (vertex_ai_gpt)."""
    model_list = [
        {
            "model_name": catalog.proxy_model_name(p, t),
            "litellm_params": p.litellm_params(p.model_ids[t.id], credentials.for_provider(p)),
        }
        for p in providers or catalog.PROVIDERS
        if p.not_applicable is None
        for t in catalog.tiers_of(p)
    ]
    return {
        "model_list": model_list,
        "litellm_settings": {**LIVE_LITELLM_SETTINGS, **OWN_LITELLM_SETTINGS},
        "general_settings": {**LIVE_GENERAL_SETTINGS, "master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


def default_config(providers: list[catalog.Provider] | None = None,
                   credentials: CredentialChoice = DEFAULT_CHOICE) -> ProxyConfig:
    document = build_config(providers, credentials)
    return ProxyConfig(document, DEFAULT_LABEL, frozenset(m["model_name"] for m in document["model_list"]))


def load_user_config(path: Path) -> ProxyConfig:
    """A user's LiteLLM config. Its deployments serve the cells whose published alias
    they are named by; its master key is replaced by ccmatrix's (the clients need it)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProxyConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProxyConfigError(f"{path}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ProxyConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise ProxyConfigError(f"{path}: expected a mapping at the top level, got {type(document).__name__}")
    models = document.get("model_list")
    if not isinstance(models, list) or not models:
        raise ProxyConfigError(f"{path}: model_list: expected a non-empty list of deployments")
    names = []
    for n, entry in enumerate(models):
        where = f"{path}: model_list[{n}]"
        if not isinstance(entry, dict):
            raise ProxyConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
        if not isinstance(entry.get("model_name"), str) or not entry["model_name"]:
            raise ProxyConfigError(f"{where}.model_name: missing or not a string")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise ProxyConfigError(f"{where}.litellm_params.model: missing or not a string")
        names.append(entry["model_name"])
    for key in ("general_settings", "litellm_settings"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            raise ProxyConfigError(f"{path}: {key}: expected a mapping")
    general = dict(document.get("general_settings") or {})
    general["master_key"] = "os.environ/LITELLM_MASTER_KEY"
    document = {**document, "general_settings": general}
    return ProxyConfig(document, path.name, frozenset(names))


def check_aliases(config: ProxyConfig, path: Path, cells: list[catalog.CellTier]) -> None:
    """A config must name its deployments by the published aliases: a name that is none
    (a typo) would leave its cells untested and the run green. One line, exit 2, before
    anything starts; a config serving none of the selected cells is refused the same way."""
    import difflib

    aliases = {catalog.proxy_model_name(p, t) for p in catalog.ALL_PROVIDERS for t in catalog.tiers_of(p)}
    for name in sorted(config.model_names - aliases):
        near = difflib.get_close_matches(name, sorted(aliases), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ProxyConfigError(f"{path}: model_list: {name!r} is not a published alias{hint}; ccmatrix serves a "
                               "cell only from a deployment named by its alias")
    if not any(config.serves(c) for c in cells):
        raise ProxyConfigError(f"{path}: no deployment serves the selected cells (their aliases, e.g. "
                               f"{cells[0].proxy_model!r}, are not in its model_list)")


def write_config(path: Path, config: ProxyConfig) -> Path:
    path.write_text(yaml.safe_dump(config.document, sort_keys=False))
    return path
