"""The providers (the matrix's columns), one module each, in the published order.

    from ccmatrix.providers import PROVIDERS, provider
    provider("bedrock_invoke").litellm_params("us.anthropic.claude-sonnet-4-6")
"""

from __future__ import annotations

import functools
from pathlib import Path

from ccmatrix.providers import anthropic, azure, bedrock_converse, bedrock_invoke, vertex_ai
from ccmatrix.providers.base import CONVERSE, MESSAGES, Dialect, ErrorAnswer, Provider
from ccmatrix.providers.credentials import (
    DEFAULT_CHOICE,
    CredentialChoice,
    CredentialMode,
    CredentialsError,
    choose,
    conflict,
)

PROVIDERS: tuple[Provider, ...] = (
    anthropic.PROVIDER,
    bedrock_invoke.PROVIDER,
    bedrock_converse.PROVIDER,
    vertex_ai.PROVIDER,
    azure.PROVIDER,
)
DIALECTS: tuple[Dialect, ...] = (MESSAGES, CONVERSE)

# token endpoints of any provider: host pattern -> the run-wide auth cassette's name
AUTH_HOSTS: dict[str, str] = {host: name for p in PROVIDERS for host, name in p.auth_hosts.items()}


@functools.lru_cache(maxsize=256)  # asked of every upstream request, three times: hosts are few
def auth_cassette_name(host: str) -> str | None:
    """The auth cassette of a token endpoint (None: `host` is no provider's token endpoint)."""
    return next((name for p in PROVIDERS if (name := p.owns_auth_host(host))), None)


def live_variables(choice: CredentialChoice = DEFAULT_CHOICE, providers: list[Provider] | None = None) -> tuple[str, ...]:
    """Every credential variable a live run of `providers` (default: all) needs under
    `choice`, in provider order, once each."""
    return tuple(dict.fromkeys(v for p in providers or PROVIDERS for v in choice.for_provider(p).variables))


def optional_live_variables(choice: CredentialChoice = DEFAULT_CHOICE,
                            providers: list[Provider] | None = None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for p in providers or PROVIDERS for v in choice.for_provider(p).optional_variables))


def fake_credentials(workdir: Path, token_uri: str | None = None, choice: CredentialChoice = DEFAULT_CHOICE,
                     providers: list[Provider] | None = None) -> dict[str, str]:
    """Throwaway credentials for each provider's chosen mode (see Provider.fake_credentials),
    of `providers` (default: all). Providers that share variables (Bedrock's two routes)
    share the values."""
    out: dict[str, str] = {}
    for p in providers or PROVIDERS:
        for name, value in p.fake_credentials(workdir, token_uri, choice.for_provider(p)).items():
            out.setdefault(name, value)
    return out


__all__ = [
    "AUTH_HOSTS", "CONVERSE", "DEFAULT_CHOICE", "DIALECTS", "CredentialChoice", "CredentialMode", "CredentialsError",
    "Dialect", "ErrorAnswer", "MESSAGES", "PROVIDERS", "Provider", "auth_cassette_name", "choose", "conflict",
    "fake_credentials", "live_variables", "optional_live_variables",
]
