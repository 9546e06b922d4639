"""What ccmatrix knows about one upstream provider, in one object.

Each module of this package defines one `Provider` subclass and its single
instance; `ccmatrix.providers` lists them in the published column order. The
catalog, the LiteLLM config, the credentials, the recorder's error answers, the
response decoders and the reports ask the provider object, so nothing outside
this package branches on a provider id. Adding a provider is one module here plus
its line in the registry (docs/architecture.md shows one).
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from ccmatrix.providers import ids
from ccmatrix.providers.contract import ProviderRequest, Rule, Verdict, Violation, judge
from ccmatrix.providers.credentials import CredentialMode, CredentialRule
from ccmatrix.wire.messages import AssistantMessage, from_anthropic_json, from_sse

# An answer the recorder sends in the provider's own error shape: status, headers, body.
ErrorAnswer = tuple[int, dict[str, str], bytes]
MISMATCH_STATUS = 400  # a replay mismatch is a client error: never retried
# Seconds an emulated fault asks the client to wait (retry-after), where the provider
# sends one: short, so that a client honouring it stays fast.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Dialect:
    """The request body a provider speaks, and the fields every row relies on in it."""

    id: str  # "messages" (Anthropic Messages bodies) or "converse" (Bedrock Converse)
    base_fields: tuple[str, ...]


# Anthropic Messages bodies: first party, Vertex, Bedrock Invoke, Foundry
MESSAGES = Dialect("messages", ("method", "path", "body.messages", "body.max_tokens", "body.system"))
CONVERSE = Dialect("converse", ("method", "path", "body.messages", "body.system", "body.inferenceConfig.maxTokens"))
# OpenAI's Responses API bodies, what LiteLLM sends the GPT-5.6 columns (docs/gpt-columns.md):
# the route, the model and the limit. The conversation (`input`) is not compared leaf by
# leaf: where the translation puts Claude Code's system prompt (`instructions` in 1.83.14
# and 1.93.0, a message in `input` in 1.110.2) and the cache breakpoints it adds differ by
# release with the same content reaching the model (drift, reported; the rows' criteria
# hold what comes back)
RESPONSES = Dialect("responses", ("method", "path", "body.model", "body.max_output_tokens"))


def random_text(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class NativeHarmless:
    """A difference from Claude Code's native request (ccmatrix/verdict/native.py) that
    does not change what the provider does: the field (a field_diff pattern), why, with
    its evidence, and when it holds (a test on the expected fields' view)."""

    pattern: str
    reason: str
    when: Callable[[dict[str, Any]], bool] = lambda expected: True


class Provider:
    """One column of the matrix. Subclasses fill in the class attributes and override
    what differs from an Anthropic-Messages provider."""

    id: ClassVar[str]
    name: ClassVar[str]
    label: ClassVar[str]  # a short column header for narrow terminals
    # where LiteLLM turns Claude Code's /v1/messages request into this provider's (paths in
    # LiteLLM's source tree, read in 1.98.0 and 1.110.2): what a red cell's reader opens first
    litellm_modules: ClassVar[tuple[str, ...]] = ()
    dialect: ClassVar[Dialect] = MESSAGES
    # host patterns (fnmatch) the provider's upstream traffic goes to
    hosts: ClassVar[tuple[str, ...]]
    # token endpoints among those hosts (patterns): their exchanges belong to the run, not a
    # cell (LiteLLM caches tokens), and get one cassette each: host pattern -> cassette name
    auth_hosts: ClassVar[Mapping[str, str]] = {}
    model_ids: ClassVar[Mapping[str, str]]  # tier id -> the provider's model id
    litellm_prefix: ClassVar[str]  # the LiteLLM `model` prefix, e.g. "bedrock/invoke/"
    # appended to a tier's alias for the proxy's model name, as the published matrix names
    # its deployments ("claude-haiku-4-5-bedrock-converse"; first party has none)
    alias_suffix: ClassVar[str] = ""
    # request fields every row relies on beyond the dialect's (diff paths, see cassette.field_diff)
    extra_base_fields: ClassVar[tuple[str, ...]] = ()
    # where an Anthropic beta travels in this provider's requests (a row's betas are
    # load-bearing at each of these paths)
    beta_fields: ClassVar[tuple[str, ...]] = ()
    # how a deployment can authenticate (ccmatrix/providers/credentials.py), the live
    # harness's way first: the default
    credential_modes: ClassVar[tuple[CredentialMode, ...]]
    # what the provider accepts, rule by rule (ccmatrix/providers/contract.py)
    contract: ClassVar[tuple[Rule, ...]] = ()
    # What Claude Code sends this provider when it talks to it itself, the expectation
    # LiteLLM's requests are compared with (ccmatrix/verdict/native.py): "capture" (the
    # CLI run natively against the emulator: native_environment), "client" (the client
    # leg itself: the first-party API is what Claude Code speaks to LiteLLM), or another
    # provider's capture, mapped (Converse has no native mode: Invoke's), or "none" (Claude
    # Code cannot talk to the provider itself: the GPT-5.6 columns)
    native_reference: ClassVar[str] = "capture"
    # differences from that reference that do not change what the provider does
    native_harmless: ClassVar[tuple["NativeHarmless", ...]] = ()
    # the models its cells are judged on (ccmatrix/catalog/tiers.py FAMILIES)
    tier_family: ClassVar[str] = "claude"
    # the rows (feature ids) the column backs, None: every row; the others are
    # not_tested in its column, for `rows_reason`
    rows: ClassVar[tuple[str, ...] | None] = None
    rows_reason: ClassVar[str] = ""
    # why none of the column's cells applies (None: they do), as the live harness says it
    not_applicable: ClassVar[str | None] = None

    def __repr__(self) -> str:
        return f"<provider {self.id}>"

    @property
    def base_fields(self) -> tuple[str, ...]:
        return self.dialect.base_fields + self.extra_base_fields

    def backs(self, feature_id: str) -> bool:
        return self.rows is None or feature_id in self.rows

    def owns_host(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.hosts)

    def beta_paths(self, beta: str) -> tuple[str, ...]:
        return tuple(f"{where}.{beta}" for where in self.beta_fields)

    def owns_auth_host(self, host: str) -> str | None:
        """The auth cassette's name when `host` is one of this provider's token endpoints."""
        return next((name for pattern, name in self.auth_hosts.items() if fnmatch.fnmatchcase(host, pattern)), None)

    def credential_mode(self, mode_id: str | None = None) -> CredentialMode:
        """The mode by that id (None: the default, the live harness's)."""
        if mode_id is None:
            return self.credential_modes[0]
        return next(m for m in self.credential_modes if m.id == mode_id)

    # ------------------------------------------------------------ LiteLLM
    def litellm_params(self, model_id: str, mode: CredentialMode | None = None) -> dict[str, Any]:
        """The deployment's `litellm_params`, written as a LiteLLM user writes them:
        real endpoints, credentials from the environment (`os.environ/...`), as `mode`
        (default: the live harness's) has them."""
        return {"model": self.litellm_prefix + model_id, **(mode or self.credential_modes[0]).params}

    def fake_credentials(self, workdir: Path, token_uri: str | None = None,
                         mode: CredentialMode | None = None) -> dict[str, str]:
        """Throwaway values for the mode's variables, real-looking enough for LiteLLM to
        sign requests with, worthless outside the run."""
        return (mode or self.credential_modes[0]).fake(workdir, token_uri)

    def native_environment(self, workdir: Path) -> dict[str, str]:
        """The variables that make Claude Code talk to this provider itself (the field
        notes' switches), with throwaway credentials (native_reference "capture" only)."""
        raise NotImplementedError

    # ------------------------------------------------------------ contract
    def check(self, request: ProviderRequest) -> Verdict:
        """What this provider makes of the request: the rule it breaks, if any."""
        return judge(self.contract, request)

    def refusal(self, violation: Violation, seed: str) -> ErrorAnswer:
        """The provider's answer to a request that breaks a rule: of its contract, or of the
        run's credential mode (then as the provider refuses credentials it does not take)."""
        if isinstance(violation.rule, CredentialRule):
            return self.unauthenticated(f"{violation.rule.id}: {violation.message}", seed)
        return self.rejection(violation, seed)

    def unauthenticated(self, message: str, seed: str) -> ErrorAnswer:
        """The Anthropic API's 401 (docs.claude.com/en/api/errors: authentication_error);
        Foundry's gateway answers before the model, in Azure's shape."""
        body = {"type": "error", "error": {"type": "authentication_error", "message": message},
                "request_id": ids.request_id(seed)}
        return 401, {"content-type": "application/json", "request-id": body["request_id"]}, \
            json.dumps(body, separators=(",", ":")).encode()

    def rejection(self, violation: Violation, seed: str) -> ErrorAnswer:
        """The provider's answer to a request that breaks a rule of its contract."""
        body = {"type": "error", "error": {"type": violation.rule.error_type, "message": violation.message},
                "request_id": ids.request_id(seed)}
        return violation.rule.status, {"content-type": "application/json", "request-id": body["request_id"]}, \
            json.dumps(body, separators=(",", ":")).encode()

    # ------------------------------------------------------------ wire
    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        """`message` as this provider shapes an invalid-request error, so LiteLLM relays it."""
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        return status, {"content-type": "application/json"}, json.dumps(body).encode()

    # ------------------------------------------------------------ faults
    # (ccmatrix/catalog/faults.py; each answer's evidence is in docs/faults.md)
    def fault_answer(self, kind: str, seed: str) -> ErrorAnswer | None:
        """The provider's own answer to a request it cannot serve now (`kind` "rate_limited"
        or "overloaded"), or None where the provider has no such answer. The Anthropic API's
        (docs.claude.com/en/api/errors): 429 rate_limit_error with retry-after, 529
        overloaded_error; Foundry and Vertex serve the same API and answer the same way."""
        request_id = ids.request_id(seed)
        headers = {"content-type": "application/json", "request-id": request_id}
        if kind == "rate_limited":
            error = {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your "
                     "per-minute rate limit (ccmatrix emulator: a fault on purpose)"}
            status, headers = 429, {**headers, "retry-after": str(RETRY_AFTER_SECONDS)}
        elif kind == "overloaded":
            status, error = 529, {"type": "overloaded_error", "message": "Overloaded"}
        else:
            return None
        body = {"type": "error", "error": error, "request_id": request_id}
        return status, headers, json.dumps(body, separators=(",", ":")).encode()

    def stream_fault_event(self) -> dict | None:
        """The error event an Anthropic SSE stream carries when it fails after it started
        (docs.claude.com/en/docs/build-with-claude/streaming, "Error events")."""
        return {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        """What the provider sent, as an assistant message (Anthropic Messages JSON or SSE)."""
        if content_type.startswith("text/event-stream"):
            return from_sse(data)
        return from_anthropic_json(json.loads(data or b"{}"))
