"""Vertex AI's Anthropic publisher endpoints, with Google's service-account token exchange."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any

from ccmatrix.providers.base import MISMATCH_STATUS, DirectUpstream, ErrorAnswer, Provider, random_text

API_HOSTS = ("*-aiplatform.googleapis.com", "aiplatform.googleapis.com")
TOKEN_HOSTS = ("oauth2.googleapis.com",)
LOCATION = "us-east5"
FAKE_PROJECT = "ccmatrix-project"


class VertexAI(Provider):
    id = "vertex_ai"
    name = "Vertex AI"
    label = "Vertex"
    hosts = API_HOSTS + TOKEN_HOSTS  # the token endpoint belongs to vertex_ai
    auth_hosts = {"oauth2.googleapis.com": "google_oauth2_token"}
    model_ids = {"haiku": "claude-haiku-4-5@20251001", "sonnet": "claude-sonnet-4-6", "opus": "claude-opus-4-7"}
    litellm_prefix = "vertex_ai/"
    extra_base_fields = ("body.anthropic_version",)
    beta_fields = ("headers.anthropic-beta", "body.anthropic_beta")
    live_variables = ("VERTEXAI_PROJECT", "VERTEXAI_CREDENTIALS")

    def litellm_params(self, model_id: str) -> dict[str, Any]:
        return {
            "model": self.litellm_prefix + model_id,
            "vertex_project": "os.environ/VERTEXAI_PROJECT",
            "vertex_location": LOCATION,
            "vertex_credentials": "os.environ/VERTEXAI_CREDENTIALS",
        }

    def fake_credentials(self, workdir: Path, token_uri: str | None = None) -> dict[str, str]:
        path = service_account(workdir / "vertex-service-account.json", token_uri)
        return {"VERTEXAI_PROJECT": FAKE_PROJECT, "VERTEXAI_CREDENTIALS": str(path)}

    def direct_upstream(self, url: str) -> DirectUpstream:
        # 1.108.7 appends the default .../publishers/anthropic/models/m:rawPredict path to a
        # base without a path; 1.83.14 posts to it verbatim. The loopback upstream answers any path.
        return DirectUpstream(params={"api_base": url}, token_uri=url + "/token")

    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        body = {"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}}
        return status, {"content-type": "application/json"}, json.dumps(body).encode()


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
