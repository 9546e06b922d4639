"""Secret redaction, applied to everything before it is written to a cassette.

Two layers: structural (header names and JSON/form keys known to carry secrets)
and textual (credential-shaped strings anywhere, e.g. a token echoed in an error
message). Volatile-but-harmless values (x-amz-date) are replaced too, so that
re-recording the same traffic reproduces the same cassette bytes.
"""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "<redacted>"
PER_CALL = "<per-call>"

# headers whose whole value is a secret
SECRET_HEADERS = frozenset(
    {
        "x-api-key",
        "api-key",
        "x-amz-security-token",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
    }
)
# headers that change on every call and carry nothing to compare
PER_CALL_HEADERS = frozenset({"x-amz-date", "date", "x-amz-content-sha256", "x-amzn-requestid", "request-id", "x-request-id"})

# JSON / form keys whose values are secrets (Google token exchange, service accounts, ...)
SECRET_KEYS = frozenset(
    {
        "access_token",
        "id_token",
        "refresh_token",
        "assertion",
        "client_secret",
        "private_key",
        "private_key_id",
        "api_key",
        "apikey",
        "aws_secret_access_key",
        "aws_session_token",
        "secret_access_key",
        "session_token",
        "x-api-key",
    }
)

_SIGV4 = re.compile(r"^(?P<alg>AWS4-HMAC-SHA256)\s+(?P<rest>.*)$", re.S)
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\n]*)", re.S), REDACTED),
    (re.compile(r"(?i)(aws_secret_access_key[\"'\s:=]+)[A-Za-z0-9/+]{40}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(x-amz-security-token[\"'\s:=]+)[A-Za-z0-9/+=]{40,}"), r"\1" + REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), REDACTED),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"\bya29\.[A-Za-z0-9_\-.]+"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),  # JWT
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(Credential=)[^,&\s\"]+"), r"\1" + REDACTED),
    # a token, not a word: 20+ characters, at least one digit
    (re.compile(r"(?i)\b(Bearer\s+)(?!<redacted>)(?=[A-Za-z_\-.=+/]*\d)[A-Za-z0-9_\-.=+/]{20,}"), r"\1" + REDACTED),
)


@functools.lru_cache(maxsize=8192)
def redact_text(text: str) -> str:
    # cached: Claude Code's system prompt and tool texts come back in every request
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_authorization(value: str) -> str:
    """Keep what is worth comparing (scheme, SigV4 signed headers), drop the secret."""
    sig = _SIGV4.match(value.strip())
    if sig:
        parts = dict(
            p.strip().split("=", 1) for p in sig.group("rest").split(",") if "=" in p
        )
        signed = parts.get("SignedHeaders", "")
        return f"AWS4-HMAC-SHA256 Credential={REDACTED}, SignedHeaders={signed}, Signature={REDACTED}"
    scheme = value.strip().split(" ", 1)[0] if " " in value.strip() else ""
    return f"{scheme} {REDACTED}" if scheme else REDACTED


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key == "authorization":
            out[key] = redact_authorization(value)
        elif key in SECRET_HEADERS:
            out[key] = REDACTED
        elif key in PER_CALL_HEADERS:
            out[key] = PER_CALL
        else:
            out[key] = redact_text(value)
    return dict(sorted(out.items()))


def redact_json(value: Any) -> Any:
    """Redact secrets in a JSON value, keeping its shape and key order."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if k.lower() in SECRET_KEYS and v not in (None, "") else redact_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_url(url: str) -> str:
    return redact_text(url)


# Claude Code's first system block is a billing line with per-run values
_BILLING_LINE = "x-anthropic-billing-header"


def normalize_body(body: Any) -> Any:
    """A request body with its secrets redacted and its per-call values (Claude Code's
    session id in metadata.user_id, its billing line, a token exchange's assertion)
    replaced, so two bodies of the same logical request are equal."""
    body = redact_json(body)
    if isinstance(body, dict):
        body = dict(body)
        meta = body.get("metadata")
        if isinstance(meta, dict) and "user_id" in meta:
            body["metadata"] = {**meta, "user_id": PER_CALL}
        system = body.get("system")
        # Claude Code's first system block is a billing line with per-run values
        if isinstance(system, list) and system and isinstance(system[0], dict):
            text = system[0].get("text")
            if isinstance(text, str) and text.startswith(_BILLING_LINE):
                body["system"] = [{**system[0], "text": PER_CALL}, *system[1:]]
        if isinstance(body.get("assertion"), str):
            body["assertion"] = PER_CALL
    return body
