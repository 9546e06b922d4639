"""The providers (the matrix's columns), one module each, in the published order.

    from ccmatrix.providers import PROVIDERS, provider
    provider("bedrock_invoke").litellm_params("us.anthropic.claude-sonnet-4-6")
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path

from ccmatrix.providers import (
    anthropic,
    azure,
    azure_openai,
    bedrock_converse,
    bedrock_invoke,
    bedrock_mantle,
    openai,
    vertex_ai,
    vertex_ai_gpt,
)
from ccmatrix.providers.base import CONVERSE, MESSAGES, RESPONSES, Dialect, ErrorAnswer, Provider
from ccmatrix.providers.credentials import (
    DEFAULT_CHOICE,
    CredentialChoice,
    CredentialMode,
    CredentialsError,
    choose,
    conflict,
)

# The published matrix's columns: the default view.
PROVIDERS: tuple[Provider, ...] = (
    anthropic.PROVIDER,
    bedrock_invoke.PROVIDER,
    bedrock_converse.PROVIDER,
    vertex_ai.PROVIDER,
    azure.PROVIDER,
)
# The live harness's GPT-5.6 columns, after the five (its manifest.yaml order; issue 23)
GPT_PROVIDERS: tuple[Provider, ...] = (
    openai.PROVIDER,
    azure_openai.PROVIDER,
    bedrock_mantle.PROVIDER,
    vertex_ai_gpt.PROVIDER,
)
# every provider ccmatrix knows, in column order: what a host or an id is looked up in
ALL_PROVIDERS: tuple[Provider, ...] = PROVIDERS + GPT_PROVIDERS
DIALECTS: tuple[Dialect, ...] = (MESSAGES, CONVERSE, RESPONSES)


class Columns(enum.Enum):
    """Which columns a run and its reports cover: the published five (the default, what
    the published matrix shows) or all nine of the live harness."""

    PUBLISHED = "published"
    ALL = "all"


# token endpoints of any provider: host pattern -> the run-wide auth cassette's name
AUTH_HOSTS: dict[str, str] = {host: name for p in ALL_PROVIDERS for host, name in p.auth_hosts.items()}


@functools.lru_cache(maxsize=256)  # asked of every upstream request, three times: hosts are few
def auth_cassette_name(host: str) -> str | None:
    """The auth cassette of a token endpoint (None: `host` is no provider's token endpoint)."""
    return next((name for p in ALL_PROVIDERS if (name := p.owns_auth_host(host))), None)


@functools.lru_cache(maxsize=256)  # asked of every upstream request: hosts are few
def provider_for_host(host: str) -> Provider | None:
    """The first provider, in column order, whose hosts `host` is among."""
    return next((p for p in ALL_PROVIDERS if p.owns_host(host)), None)


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
    "ALL_PROVIDERS", "AUTH_HOSTS", "CONVERSE", "Columns", "GPT_PROVIDERS", "RESPONSES", "provider_for_host", "DEFAULT_CHOICE", "DIALECTS", "CredentialChoice", "CredentialMode", "CredentialsError",
    "Dialect", "ErrorAnswer", "MESSAGES", "PROVIDERS", "Provider", "auth_cassette_name", "choose", "conflict",
    "fake_credentials", "live_variables", "optional_live_variables",
]
