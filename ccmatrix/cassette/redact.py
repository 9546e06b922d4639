"""Secret redaction, applied to everything before it is written to a cassette.

Two layers: structural (header names and JSON/form keys known to carry secrets)
and textual (credential-shaped strings anywhere, e.g. a token echoed in an error
message). Volatile-but-harmless values (x-amz-date) are replaced too, so that
re-recording the same traffic reproduces the same cassette bytes.

The credentials ccmatrix's emulator hands out (a token, STS session keys: marked
`ccmatrix-emulator-` / `ASIACCMX`, ccmatrix/providers/credentials.py) are no secret
and are kept: replay gives LiteLLM the same credential the recording did, so each
request can still be held to its credential mode (which exchange its token came from).
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
    (re.compile(r"\b(?:AKIA|ASIA)(?!CCMX)[A-Z0-9]{16}\b"), REDACTED),  # not the emulator's STS keys
    (re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"\bya29\.(?!ccmatrix-emulator-)[A-Za-z0-9_\-.]+"), REDACTED),  # not the emulator's tokens
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), REDACTED),  # JWT
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(Credential=)[^,&\s\"]+"), r"\1" + REDACTED),
    # a token, not a word: 20+ characters, at least one digit
    (re.compile(r"(?i)\b(Bearer\s+)(?!<redacted>)(?=[A-Za-z_\-.=+/]*\d)[A-Za-z0-9_\-.=+/]{20,}"), r"\1" + REDACTED),
)


def _substitute(patterns: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str:
    for pattern, replacement in patterns:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=8192)
def redact_text(text: str) -> str:
    # cached: Claude Code's system prompt and tool texts come back in every request
    return _substitute(_TEXT_PATTERNS, text)


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


# Header values that name the machine a request was made on, not what was asked: the
# library and interpreter versions of the client that sent it, its OS and processor.
# They differ between two machines (and between two installs of one machine a month
# apart: httpx 0.28.1 recorded, 0.29.0 served since), so they are replaced when a
# cassette is written and when two requests are compared, as per-call values are.
# Each row: a header, the part of its value that names the machine, and what stands
# in for it. What a header says about the software under test stays: LiteLLM's own
# `litellm/<release>` user agent, Claude Code's `claude-cli/<release>` and the SDK
# release it embeds (x-stainless-package-version), both fixed by the release.
MACHINE = "<machine>"
VERSION = "<version>"
_LIBRARY_VERSION = re.compile(
    r"\b(python-httpx|python-requests|Python-urllib|aiohttp|urllib3|Python|CPython|gl-python|auth|gccl|gapic|grpc|"
    r"google-api-python-client|Boto3|Botocore|botocore|boto3|Linux|Darwin)/[0-9][A-Za-z0-9.+_-]*")
MACHINE_HEADERS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # httpx (ccmatrix's own clients), requests and google-auth (LiteLLM's Vertex token exchange)
    ("user-agent", _LIBRARY_VERSION, rf"\1/{VERSION}"),
    # google-auth: "gl-python/3.11.7 auth/2.63.0 auth-request-type/at cred-type/sa"
    ("x-goog-api-client", _LIBRARY_VERSION, rf"\1/{VERSION}"),
    # the Stainless SDKs' platform headers (Claude Code's TypeScript SDK, the Python SDK)
    ("x-stainless-runtime-version", re.compile(r"^.+$", re.S), VERSION),
    ("x-stainless-os", re.compile(r"^.+$", re.S), MACHINE),
    ("x-stainless-arch", re.compile(r"^.+$", re.S), MACHINE),
)
_MACHINE_BY_HEADER = {name: (pattern, replacement) for name, pattern, replacement in MACHINE_HEADERS}


def normalize_machine_value(name: str, value: str) -> str:
    """A header's value with what names the sending machine replaced (MACHINE_HEADERS)."""
    rule = _MACHINE_BY_HEADER.get(name.lower())
    return rule[0].sub(rule[1], value) if rule else value


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as a cassette keeps them and a comparison sees them: secrets redacted,
    per-call values and the sending machine's versions replaced."""
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
            out[key] = redact_text(normalize_machine_value(key, value))
    return dict(sorted(out.items()))


def _emulators(value: Any) -> bool:
    """A credential ccmatrix's emulator made (worthless anywhere else)."""
    return isinstance(value, str) and value.startswith(("ya29.ccmatrix-emulator-", "ccmatrix-emulator-", "ASIACCMX"))


def redact_json(value: Any) -> Any:
    """Redact secrets in a JSON value, keeping its shape and key order."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if k.lower() in SECRET_KEYS and v not in (None, "") and not _emulators(v) else redact_json(v))
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


# Per-run values Claude Code writes into the text of its requests: the day (in the
# context reminder of the first user message) and the machine's OS release (in the
# environment section of the system prompt). Replaced wherever they appear, so a
# request recorded on one machine on one day matches the same request made elsewhere
# on another day.
PER_RUN_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(Today's date is )\d{4}-\d{2}-\d{2}"), r"\1<date>"),
    (re.compile(r"(OS Version: )[^\n\"]+"), r"\1<os-version>"),
    # the spend so far in the budget reminder (`--max-budget-usd`): 2.1.228 sends its
    # session-title request beside the first turn, and its cost is counted first or not
    (re.compile(r"(USD budget: \$)[0-9.]+(/\$[0-9.]+; \$)[0-9.]+( remaining)"), r"\1<spent>\2<left>\3"),
    # Claude Code's billing line: its values change per call; its prefix is what LiteLLM
    # recognizes the line by (it drops it for some providers), so it stays
    (re.compile(r"(x-anthropic-billing-header: )[^\n\"]*"), r"\1<per-call>"),
)


@functools.lru_cache(maxsize=8192)
def normalize_text(text: str) -> str:
    return _substitute(PER_RUN_TEXT, text)


def _per_run(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _per_run(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_per_run(v) for v in value]
    if isinstance(value, str):
        return normalize_text(value)
    return value


def normalize_client_body(body: Any) -> Any:
    """A client's request body as the client leg keeps it, to be sent again: secrets
    redacted and per-run values replaced (PER_RUN_TEXT), nothing else: it must reach
    LiteLLM as the client's did."""
    return _per_run(redact_json(body))


def normalize_body(body: Any) -> Any:
    """A request body with its secrets redacted and its per-call values (Claude Code's
    session id in metadata.user_id, its billing line, the day and the OS release in its
    prompts, a token exchange's assertion) replaced, so two bodies of the same logical
    request are equal."""
    body = _per_run(redact_json(body))
    if isinstance(body, dict):
        body = dict(body)
        meta = body.get("metadata")
        if isinstance(meta, dict) and "user_id" in meta:
            body["metadata"] = {**meta, "user_id": PER_CALL}
        system = body.get("system")
        # Claude Code's first system block is a billing line with per-run values (in
        # Messages bodies and, through LiteLLM, in Converse's system list)
        if isinstance(system, list) and system and isinstance(system[0], dict):
            text = system[0].get("text")
            if isinstance(text, str) and text.startswith(_BILLING_LINE):
                body["system"] = [{**system[0], "text": PER_CALL}, *system[1:]]
        elif isinstance(system, str) and system.startswith(_BILLING_LINE):
            first, _, rest = system.partition("\n")
            body["system"] = PER_CALL + ("\n" + rest if rest else "")
        if isinstance(body.get("assertion"), str):
            body["assertion"] = PER_CALL
    return body
