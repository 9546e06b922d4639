"""Vertex AI's Anthropic publisher endpoints, with Google's service-account token exchange."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any

from ccmatrix.providers import ids
from ccmatrix.providers import messages_api as api
from ccmatrix.providers.base import ALNUM, MISMATCH_STATUS, ErrorAnswer, Provider, random_text
from ccmatrix.providers.contract import ProviderRequest, Rule, Violation, both, on_path
from ccmatrix.providers.credentials import (
    METADATA_TOKEN,
    SERVICE_ACCOUNT_TOKEN,
    CredentialMode,
    all_of,
    bearer,
    vertex_location,
)

API_HOSTS = ("*-aiplatform.googleapis.com", "aiplatform.googleapis.com")
TOKEN_HOSTS = ("oauth2.googleapis.com",)
# the GCE metadata server, by name and by address (google-auth pings the address first)
METADATA_HOSTS = ("metadata.google.internal", "169.254.169.254")
REGION = "us-east5"  # where Claude models are served regionally (VERTEX_DOCS)
GLOBAL = "global"  # the live harness's VERTEXAI_LOCATION
FAKE_PROJECT = "ccmatrix-project"
VERTEX_VERSION = "vertex-2023-10-16"
VERTEX_DOCS = "https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude"
# Vertex answers its own checks in Google's shape, the model's in Anthropic's
GOOGLE_INVALID = "INVALID_ARGUMENT"

_PREDICT = on_path(r"/publishers/anthropic/models/[^/:]+:(rawPredict|streamRawPredict)$")
_COUNT = on_path(r"/publishers/anthropic/models/count-tokens:rawPredict$")
PREDICT = both(_PREDICT, lambda r: not _COUNT(r))


def _model_in_body(request: ProviderRequest) -> str | None:
    if isinstance(request.body, dict) and "model" in request.body:
        return "model: Extra inputs are not permitted (the model is named in the URL)"
    return None


def _version(request: ProviderRequest) -> str | None:
    body = api.body_of(request)
    if "anthropic_version" not in body:
        return "anthropic_version: Field required"
    if body["anthropic_version"] != VERTEX_VERSION:
        return f"anthropic_version: Input should be '{VERTEX_VERSION}'"
    return None


CONTRACT: tuple[Rule, ...] = (
    Rule("vertex_ai.model-in-url", "the body carries no model: it is named in the URL", (VERTEX_DOCS,),
         _model_in_body, PREDICT, error_type=GOOGLE_INVALID),
    Rule("vertex_ai.anthropic-version", f"anthropic_version is required and is {VERTEX_VERSION}", (VERTEX_DOCS,),
         _version, PREDICT, error_type=GOOGLE_INVALID),
    *api.messages_rules("vertex_ai", (api.FIRST_PARTY_FIELDS - {"model"}) | {"anthropic_version"},
                        ("messages", "max_tokens"), PREDICT),
    Rule("vertex_ai.count-tokens-fields", "count_tokens takes the count_tokens fields (model stays in the body)",
         (VERTEX_DOCS,), api.top_level_extras(api.COUNT_TOKENS_FIELDS | {"anthropic_version"}), _COUNT),
    Rule("vertex_ai.context-management-beta",
         "context_management is rejected unless its beta is an anthropic-beta HTTP header (the body field alone "
         "is not enough)",
         ("https://github.com/anthropics/claude-code/issues/21612", "https://github.com/BerriAI/litellm/pull/22321"),
         api.context_management_needs_header_beta, PREDICT),
    Rule("vertex_ai.header-beta-values",
         "some betas are refused as anthropic-beta header values on Vertex (context-1m belongs in the body)",
         ("https://github.com/BerriAI/litellm/pull/31607", "https://github.com/anthropics/claude-code/issues/21767"),
         api.unexpected_header_betas(rejected=frozenset({"context-1m-2025-08-07", "prompt-caching-scope-2026-01-05"})),
         lambda r: PREDICT(r) or _COUNT(r), confidence="reported", action="warn"),
    Rule("vertex_ai.prompt-too-long", "input beyond the context window (200k without the 1M beta)",
         ("https://github.com/BerriAI/litellm/pull/21870",), api.too_long(), PREDICT),
)


HARNESS_ENV = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/cron_vm/litellm-compat-matrix.env.example"
HARNESS_CONFIG = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/test_config.yaml"
ADC_DOC = "https://cloud.google.com/docs/authentication/application-default-credentials"
METADATA_DOC = "https://cloud.google.com/compute/docs/access/authenticate-workloads#applications"
LOCATIONS_DOC = "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations#global-endpoint"
SERVICE_ACCOUNT_DOC = "https://cloud.google.com/iam/docs/keys-create-delete"


def _service_account(workdir: Path, token_uri: str | None) -> dict[str, str]:
    path = service_account(workdir / "vertex-service-account.json", token_uri)
    return {"VERTEXAI_PROJECT": FAKE_PROJECT, "VERTEXAI_CREDENTIALS": str(path)}


CREDENTIAL_MODES: tuple[CredentialMode, ...] = (
    # the live harness's: "the default service-account ADC from the metadata server is used --
    # no JSON key file is needed", VERTEXAI_LOCATION=global; its deployments name only the
    # project and the location (vertex_ai_project, vertex_ai_location)
    CredentialMode(
        "metadata-server", "application default credentials from the GCE metadata server, at the global endpoint",
        (HARNESS_ENV, HARNESS_CONFIG, ADC_DOC, METADATA_DOC, LOCATIONS_DOC),
        {"vertex_ai_project": "os.environ/VERTEXAI_PROJECT", "vertex_ai_location": "os.environ/VERTEXAI_LOCATION"},
        ("VERTEXAI_PROJECT", "VERTEXAI_LOCATION"),
        lambda workdir, token_uri: {"VERTEXAI_PROJECT": FAKE_PROJECT, "VERTEXAI_LOCATION": GLOBAL},
        all_of(bearer(METADATA_TOKEN, "the metadata server's credentials (application default credentials)"),
               vertex_location(GLOBAL)),
        location=GLOBAL, live_default=True),
    CredentialMode(
        "service-account", f"a service-account key file (VERTEXAI_CREDENTIALS) traded for a token, in {REGION}",
        (SERVICE_ACCOUNT_DOC, VERTEX_DOCS),
        {"vertex_project": "os.environ/VERTEXAI_PROJECT", "vertex_location": REGION,
         "vertex_credentials": "os.environ/VERTEXAI_CREDENTIALS"},
        ("VERTEXAI_PROJECT", "VERTEXAI_CREDENTIALS"), _service_account,
        all_of(bearer(SERVICE_ACCOUNT_TOKEN, "a service-account key file (VERTEXAI_CREDENTIALS)"),
               vertex_location(REGION)),
        location=REGION),
)


class VertexAI(Provider):
    id = "vertex_ai"
    name = "Vertex AI"
    label = "Vertex"
    litellm_modules = ("litellm/llms/vertex_ai/vertex_ai_partner_models/anthropic/",)
    hosts = API_HOSTS + TOKEN_HOSTS + METADATA_HOSTS  # the token endpoints belong to vertex_ai
    auth_hosts = {"oauth2.googleapis.com": "google_oauth2_token",
                  **{host: "gce_metadata" for host in METADATA_HOSTS}}
    model_ids = {"haiku": "claude-haiku-4-5@20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}
    litellm_prefix = "vertex_ai/"
    alias_suffix = "-vertex"
    extra_base_fields = ("body.anthropic_version",)
    beta_fields = ("headers.anthropic-beta", "body.anthropic_beta")
    credential_modes = CREDENTIAL_MODES
    contract = CONTRACT

    def native_environment(self, workdir: Path) -> dict[str, str]:
        # the CLI's own Google sign-in skipped: it sends the token it is given, as
        # LiteLLM sends the one it exchanged (a real Vertex checks it; so does the emulator)
        return {"CLAUDE_CODE_USE_VERTEX": "1", "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1",
                "ANTHROPIC_VERTEX_PROJECT_ID": FAKE_PROJECT, "CLOUD_ML_REGION": REGION,
                "ANTHROPIC_AUTH_TOKEN": "ya29." + random_text(ALNUM, 100)}

    def rejection(self, violation: Violation, seed: str) -> ErrorAnswer:
        if violation.rule.error_type == GOOGLE_INVALID:
            return google_error(violation.rule.status, GOOGLE_INVALID, violation.message)
        body = {"type": "error", "error": {"type": violation.rule.error_type, "message": violation.message},
                "request_id": ids.request_id(seed, "req_vrtx_")}
        return violation.rule.status, {"content-type": "application/json", "request-id": body["request_id"]}, \
            json.dumps(body, separators=(",", ":")).encode()

    def unauthenticated(self, message: str, seed: str) -> ErrorAnswer:
        # Google's own 401 (Vertex checks the token before the model sees the request)
        return google_error(401, "UNAUTHENTICATED", message)

    def fault_answer(self, kind: str, seed: str) -> ErrorAnswer | None:
        if kind == "rate_limited":
            # Vertex's own quota answer, no retry-after, in either of the forms it comes in:
            # the object (vercel/ai#2441) or the same inside a JSON array (yym68686/uni-api#41).
            # Which one a request gets follows its seed (the same request, the same form;
            # the row's three tiers get both: tests/unit/test_faults.py).
            error = {"error": {"code": 429, "message": "Resource exhausted, please try again later.",
                               "status": "RESOURCE_EXHAUSTED"}}
            body: Any = [error] if vertex_array_form(seed) else error
            return 429, {"content-type": "application/json"}, json.dumps(body, separators=(",", ":")).encode()
        if kind == "overloaded":
            # the model's own answer passes through in Anthropic's shape (langgenius/dify#7122)
            body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                    "request_id": ids.request_id(seed, "req_vrtx_")}
            return 529, {"content-type": "application/json"}, json.dumps(body, separators=(",", ":")).encode()
        return None

    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        body = {"error": {"code": status, "message": message, "status": GOOGLE_INVALID}}
        return status, {"content-type": "application/json"}, json.dumps(body).encode()


def vertex_array_form(seed: str) -> bool:
    """Whether the rate limit for the request with this seed comes as a JSON array."""
    return int(seed[-1], 16) % 2 == 0


def google_error(status: int, code: str, message: str) -> ErrorAnswer:
    """Errors Vertex raises itself: {"error": {"code", "message", "status"}}."""
    body = {"error": {"code": status, "message": message, "status": code}}
    return status, {"content-type": "application/json"}, json.dumps(body, separators=(",", ":")).encode()


def service_account(path: Path, token_uri: str | None = None) -> Path:
    """A throwaway service account with a fresh RSA key: LiteLLM signs a real JWT with it
    and trades it for a bearer token at `token_uri` (Google's, answered offline)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": FAKE_PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"ccmatrix@{FAKE_PROJECT}.iam.gserviceaccount.com",
        "client_id": random_text(string.digits, 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri or "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info, indent=2))
    path.chmod(0o600)
    return path


PROVIDER = VertexAI()
