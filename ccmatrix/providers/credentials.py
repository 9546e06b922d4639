"""How a LiteLLM deployment authenticates to its provider, as data: credential modes.

A `CredentialMode` is one way of doing it that LiteLLM has its own code path for
(credential lookup, request signing, a token exchange, the endpoint's host): what
the deployment's `litellm_params` carry, which environment variables LiteLLM reads
(live: the operator's; offline: throwaway stand-ins made here), where the requests
go (a Vertex location), and what every request to the provider must then carry.
Each provider module lists its modes (`Provider.credential_modes`), the live
harness's first: that is the default.

The recorder holds every upstream request of a run to its provider's mode (`rule`:
one more rule of the provider's contract, for the run), offline: a deployment set up
for a Bedrock API key whose requests arrive SigV4-signed, or a Vertex deployment on
the metadata server's credentials that sends a token it got elsewhere, is refused
in the provider's own words and the tier fails naming the mode, never a silent pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ccmatrix.errors import CcmatrixError
from ccmatrix.providers.contract import ProviderRequest, Rule

# The throwaway credentials' marks, so a check can tell which exchange a credential
# came from (offline only: live credentials carry no mark and are not checked). They
# say "example" as AWS's documentation keys do (AKIAIOSFODNN7EXAMPLE): secret scanners
# take such values for the stand-ins they are.
EMULATOR_TOKEN = "ya29.ccmatrix-emulator-example-"  # prefix of every token the emulator hands out
SERVICE_ACCOUNT_TOKEN = EMULATOR_TOKEN + "sa-"  # traded for a service account's JWT (oauth2 /token)
METADATA_TOKEN = EMULATOR_TOKEN + "gce-"  # from the GCE metadata server
ENTRA_TOKEN = "ccmatrix-emulator-example-entra-"  # from the emulator's Entra ID token service
BEDROCK_API_KEY_PREFIX = "ABSKQmVkcm9ja0FQSUtleS"  # a long-term Bedrock API key: base64 "BedrockAPIKey-"
STS_ACCESS_KEY_PREFIX = "ASIACCMX"  # the emulator's STS hands out ASIA (temporary) keys with this mark
STS_ACCESS_KEY_SUFFIX = "EXAMPLE"  # ... ending as AWS's documentation keys do

_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z-]+)/")


@dataclass(frozen=True)
class CredentialRule(Rule):
    """A credential mode as a rule of its provider's contract for one run: broken, the
    provider refuses the request as unauthenticated (Provider.refusal)."""


class CredentialsError(CcmatrixError):
    """A --credentials value that names no mode (exit 2)."""


@dataclass(frozen=True)
class CredentialMode:
    id: str  # what --credentials names it by, e.g. "api-key", "sigv4", "metadata-server"
    summary: str  # one line: how the deployment authenticates
    evidence: tuple[str, ...]  # where this mode is documented or used (the live harness's files)
    params: Mapping[str, Any]  # litellm_params beside `model`, written as a LiteLLM user writes them
    variables: tuple[str, ...]  # the environment LiteLLM reads them from (live: required)
    fake: Callable[[Path, str | None], dict[str, str]]  # throwaway values for `variables` (workdir, token URI)
    # what is wrong with an upstream request's authentication or destination under this
    # mode (None: nothing); only ever given non-token-endpoint requests of its provider
    check: Callable[[ProviderRequest], str | None]
    optional_variables: tuple[str, ...] = ()
    location: str | None = None  # a Vertex location ("global" or a region), where the mode sets one
    live_default: bool = False  # the live harness's own mode for its provider
    # its variable, once in LiteLLM's environment, is used by every deployment of the
    # providers that share this mode list (Bedrock's two routes), whatever they name
    takes_over_family: bool = False

    def rule(self, provider: str) -> CredentialRule:
        """This mode as a rule of the provider's contract, for one run."""
        return CredentialRule(f"{provider}.credentials.{self.id}", self.summary, self.evidence, self.check)

    def describe(self) -> str:
        return f"{self.id} ({self.location})" if self.location else self.id


@dataclass(frozen=True)
class CredentialChoice:
    """Which mode each provider's deployments use in a run: provider id -> mode id.
    Providers it does not name use their default (the live harness's)."""

    modes: Mapping[str, str] = field(default_factory=dict)

    def for_provider(self, provider: Any) -> CredentialMode:
        chosen = self.modes.get(provider.id)
        if chosen is None:
            return provider.credential_modes[0]
        return next(m for m in provider.credential_modes if m.id == chosen)

    def encode(self) -> str:
        """As mitmdump's `ccmatrix_credentials` option: "provider=mode,...", sorted."""
        return ",".join(f"{p}={m}" for p, m in sorted(self.modes.items()))

    @classmethod
    def decode(cls, text: str) -> "CredentialChoice":
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        if any(len(p) != 2 for p in pairs):
            raise CredentialsError(f"credential modes {text!r}: expected provider=mode[,provider=mode...]")
        return cls({p.strip(): m.strip() for p, m in pairs})


DEFAULT_CHOICE = CredentialChoice()


def conflict(choice: CredentialChoice, providers: list[Any]) -> str | None:
    """Why these providers cannot run side by side under `choice`: providers that share
    their modes (one family, one environment) on different modes, one of which takes
    the family over."""
    families: dict[int, list[Any]] = {}
    for p in providers:
        families.setdefault(id(p.credential_modes), []).append(p)
    for members in families.values():
        modes = {p.id: choice.for_provider(p) for p in members}
        if len({m.id for m in modes.values()}) > 1 and any(m.takes_over_family for m in modes.values()):
            taker = next(m for m in modes.values() if m.takes_over_family)
            return (f"{', '.join(f'{p}={m.id}' for p, m in modes.items())}: these providers read one environment, and "
                    f"LiteLLM uses {' and '.join(taker.variables)} for all of their deployments once it is set; give them "
                    f"one mode, or select one of them (-p)")
    return None


def choose(values: list[str], providers: tuple[Any, ...]) -> CredentialChoice:
    """`--credentials` values as a choice: `MODE` (every provider that has a mode by that
    name) or `PROVIDER=MODE`, comma-separated or repeated. A name that fits nothing is
    a CredentialsError naming the modes there are."""
    by_id = {p.id: p for p in providers}
    chosen: dict[str, str] = {}
    for value in (v.strip() for item in values for v in item.split(",")):
        if not value:
            continue
        provider_id, _, mode_id = value.rpartition("=")
        targets = [by_id[provider_id]] if provider_id in by_id else [] if provider_id else list(providers)
        if provider_id and not targets:
            raise CredentialsError(f"--credentials {value}: no provider {provider_id!r} (one of: {', '.join(by_id)})")
        fitting = [p for p in targets if any(m.id == mode_id for m in p.credential_modes)]
        if not fitting:
            known = "; ".join(f"{p.id}: {', '.join(m.id for m in p.credential_modes)}" for p in targets)
            raise CredentialsError(f"--credentials {value}: no such credential mode ({known})")
        chosen.update({p.id: mode_id for p in fitting})
    return CredentialChoice(chosen)


# ---------------------------------------------------------------- checks, one per kind of authentication


def _authorization(request: ProviderRequest) -> str:
    return request.headers.get("authorization", "")


def _said(request: ProviderRequest) -> str:
    """How the request authenticated, in a few words, for a message."""
    auth = _authorization(request)
    if auth.startswith("AWS4-HMAC-SHA256"):
        match = _SIGV4.match(auth)
        key = match["key"] if match else "?"
        token = " with a session token" if "x-amz-security-token" in request.headers else ""
        return f"it was SigV4-signed with access key {key[:8]}...{token}"
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        return f"it carried a bearer token ({token[:24]}...)" if token else "it carried an empty bearer token"
    if request.headers.get("x-api-key") or request.headers.get("api-key"):
        return "it carried an API key header"
    return "it carried no credentials"


def bearer(prefix: str, what: str) -> Callable[[ProviderRequest], str | None]:
    """Authorization: Bearer <a token from `what`> (`prefix`: the mark such tokens carry
    offline), and no AWS signature beside it."""

    def check(request: ProviderRequest) -> str | None:
        auth = _authorization(request)
        if auth.lower().startswith("bearer ") and auth[7:].strip().startswith(prefix) \
                and "x-amz-security-token" not in request.headers:
            return None
        return f"the deployment authenticates with {what}, so each request carries it as a bearer token; {_said(request)}"

    return check


def sigv4(service: str, region: str, *, temporary: bool) -> Callable[[ProviderRequest], str | None]:
    """An AWS Signature Version 4 for `service` (or a service named after it: bedrock-mantle)
    in `region`; `temporary`: signed with the
    session credentials an STS AssumeRole handed out (an ASIA key and its session token)."""

    def check(request: ProviderRequest) -> str | None:
        match = _SIGV4.match(_authorization(request))
        if match is None:
            what = "assumed role's session credentials" if temporary else "access keys"
            return f"the deployment signs its requests with the {what} (SigV4); {_said(request)}"
        if not match["service"].startswith(service) or match["region"] != region:
            return (f"SigV4 credential scope {match['region']}/{match['service']}: the deployment signs for "
                    f"{region}/{service}")
        if temporary and not (match["key"].startswith(STS_ACCESS_KEY_PREFIX)
                              and "x-amz-security-token" in request.headers):
            return (f"the deployment assumes a role (aws_role_name), so its requests are signed with the role's "
                    f"session credentials from STS; {_said(request)}")
        return None

    return check


def api_key(*headers: str) -> Callable[[ProviderRequest], str | None]:
    def check(request: ProviderRequest) -> str | None:
        if any(request.headers.get(h) for h in headers):
            return None
        return f"the deployment authenticates with an API key ({' or '.join(headers)} header); {_said(request)}"

    return check


def vertex_location(location: str) -> Callable[[ProviderRequest], str | None]:
    """Vertex's endpoint for a location: `global` is served by aiplatform.googleapis.com,
    a region by <region>-aiplatform.googleapis.com, and the path names it
    (cloud.google.com/vertex-ai/generative-ai/docs/learn/locations#global-endpoint)."""
    host = "aiplatform.googleapis.com" if location == "global" else f"{location}-aiplatform.googleapis.com"

    def check(request: ProviderRequest) -> str | None:
        match = re.search(r"/locations/([^/]+)/", request.path)
        if request.host != host or (match and match[1] != location):
            where = match[1] if match else "?"
            return (f"the deployment's location is {location} (host {host}); the request went to "
                    f"{request.host}, location {where}")
        return None

    return check


def all_of(*checks: Callable[[ProviderRequest], str | None]) -> Callable[[ProviderRequest], str | None]:
    def check(request: ProviderRequest) -> str | None:
        return next((problem for c in checks if (problem := c(request))), None)

    return check
