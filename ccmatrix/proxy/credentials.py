"""Credentials for the LiteLLM process.

Offline (replay, emulate) every credential is a throwaway made on the spot: it
must look real enough for LiteLLM to sign requests (SigV4, a Vertex token
exchange with a real RSA-signed JWT), and it is worthless outside the run.
Live runs take the operator's own from the environment.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path

from ccmatrix.litellm_config import DEFAULT_AZURE_API_BASE

LIVE_VARIABLES = (
    "ANTHROPIC_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "VERTEXAI_PROJECT",
    "VERTEXAI_CREDENTIALS",
    "AZURE_AI_API_BASE",
    "AZURE_AI_API_KEY",
)
OPTIONAL_LIVE_VARIABLES = ("AWS_SESSION_TOKEN",)
FAKE_VERTEX_PROJECT = "ccmatrix-project"


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _service_account(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": FAKE_VERTEX_PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"ccmatrix@{FAKE_VERTEX_PROJECT}.iam.gserviceaccount.com",
        "client_id": _random(string.digits, 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info, indent=2))
    path.chmod(0o600)
    return path


def fake_credentials(workdir: Path) -> dict[str, str]:
    upper = string.ascii_uppercase + string.digits
    return {
        "ANTHROPIC_API_KEY": "sk-ant-api03-" + _random(string.ascii_letters + string.digits, 40),
        "AWS_ACCESS_KEY_ID": "AKIA" + _random(upper, 16),
        "AWS_SECRET_ACCESS_KEY": _random(string.ascii_letters + string.digits + "/+", 40),
        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2Vj" + _random(string.ascii_letters + string.digits, 120),
        "VERTEXAI_PROJECT": FAKE_VERTEX_PROJECT,
        "VERTEXAI_CREDENTIALS": str(_service_account(workdir / "vertex-service-account.json")),
        "AZURE_AI_API_BASE": DEFAULT_AZURE_API_BASE,
        "AZURE_AI_API_KEY": _random(string.ascii_letters + string.digits, 32),
    }


class MissingCredentials(Exception):
    pass


def live_credentials(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    missing = [v for v in LIVE_VARIABLES if not environ.get(v)]
    if missing:
        raise MissingCredentials("live mode needs these environment variables: " + ", ".join(missing))
    return {v: environ[v] for v in LIVE_VARIABLES + OPTIONAL_LIVE_VARIABLES if environ.get(v)}
