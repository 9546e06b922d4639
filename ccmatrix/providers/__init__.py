"""The providers (the matrix's columns), one module each, in the published order.

    from ccmatrix.providers import PROVIDERS, provider
    provider("bedrock_invoke").litellm_params("us.anthropic.claude-sonnet-4-6")
"""

from __future__ import annotations

from pathlib import Path

from ccmatrix.providers import anthropic, azure, bedrock_converse, bedrock_invoke, vertex_ai
from ccmatrix.providers.base import CONVERSE, MESSAGES, Dialect, DirectUpstream, ErrorAnswer, Provider

PROVIDERS: tuple[Provider, ...] = (
    anthropic.PROVIDER,
    bedrock_invoke.PROVIDER,
    bedrock_converse.PROVIDER,
    vertex_ai.PROVIDER,
    azure.PROVIDER,
)
DIALECTS: tuple[Dialect, ...] = (MESSAGES, CONVERSE)

# token endpoints of any provider: host -> the run-wide auth cassette's name
AUTH_HOSTS: dict[str, str] = {host: name for p in PROVIDERS for host, name in p.auth_hosts.items()}


def live_variables() -> tuple[str, ...]:
    """Every credential variable a live run needs, in provider order, once each."""
    return tuple(dict.fromkeys(v for p in PROVIDERS for v in p.live_variables))


def optional_live_variables() -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for p in PROVIDERS for v in p.optional_live_variables))


def fake_credentials(workdir: Path, token_uri: str | None = None) -> dict[str, str]:
    """Throwaway credentials for every provider (see Provider.fake_credentials)."""
    out: dict[str, str] = {}
    for p in PROVIDERS:
        out.update(p.fake_credentials(workdir, token_uri))
    return out


__all__ = [
    "AUTH_HOSTS", "CONVERSE", "DIALECTS", "Dialect", "DirectUpstream", "ErrorAnswer", "MESSAGES", "PROVIDERS",
    "Provider", "fake_credentials", "live_variables", "optional_live_variables",
]
