"""redact.py: every kind of secret is removed before anything reaches a cassette.

Secrets are made at run time (random, realistic shapes) so no credential-shaped
literal sits in this file. The write-to-disk tests go through the same path the
recorder uses (recording.record_request/record_response -> cassette.save) and
ask the shared scanner for a second opinion.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.cassette import Provenance
from ccmatrix.cassette.redact import (
    PER_CALL,
    REDACTED,
    redact_authorization,
    redact_headers,
    redact_json,
    redact_text,
    redact_url,
)
from ccmatrix.providers import choose
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.recorder.record import record_request, record_response

SCAN_SECRETS = Path("/work/shared/tools/scan-secrets")
_rng = random.Random(20260101)


def rand(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase + string.digits


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def make_jwt() -> str:
    header = b64url({"alg": "RS256", "typ": "JWT", "kid": rand(HEX, 40)})
    claims = b64url({"iss": "ccmatrix@ccmatrix-project.iam.gserviceaccount.com", "scope": "https://www.googleapis.com/auth/cloud-platform",
                     "aud": "https://oauth2.googleapis.com/token", "iat": 1767225600, "exp": 1767229200})
    return f"{header}.{claims}.{rand(ALNUM + '-_', 342)}"


AKID = "AKIA" + rand(UPPER, 16)
ASIA = "ASIA" + rand(UPPER, 16)
SIGNATURE = rand(HEX, 64)
SESSION_TOKEN = "IQoJb3JpZ2luX2Vj" + rand(ALNUM, 200)
ANTHROPIC_KEY = "sk-ant-api03-" + rand(ALNUM + "-_", 93)
YA29 = "ya29.c." + rand(ALNUM + "-_", 150)
JWT = make_jwt()
REFRESH = "1//0g" + rand(ALNUM + "-_", 98)
SIGV4 = (f"AWS4-HMAC-SHA256 Credential={AKID}/20260101/us-east-1/bedrock/aws4_request, "
         f"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={SIGNATURE}")
PRESIGNED = (
    "https://ccmatrix-bucket.s3.us-east-1.amazonaws.com/out/batch.jsonl?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={ASIA}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z"
    f"&X-Amz-Expires=900&X-Amz-Security-Token={SESSION_TOKEN[:60]}%2F%2B{SESSION_TOKEN[60:]}"
    f"&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}"
)


@pytest.fixture(scope="module")
def pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


# ---------------------------------------------------------------- headers


def test_bearer_authorization_keeps_only_the_scheme():
    assert redact_authorization(f"Bearer {YA29}") == f"Bearer {REDACTED}"
    assert redact_authorization(f"Basic {base64.b64encode(b'user:pw').decode()}") == f"Basic {REDACTED}"
    assert redact_authorization(ANTHROPIC_KEY) == REDACTED  # no scheme at all


def test_sigv4_authorization_keeps_signed_headers_only():
    out = redact_authorization(SIGV4)
    assert out == (f"AWS4-HMAC-SHA256 Credential={REDACTED}, "
                   f"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={REDACTED}")
    assert AKID not in out and SIGNATURE not in out
    # idempotent: re-redacting a recorded value gives it back (re-records are byte-stable)
    assert redact_authorization(out) == out


def test_secret_and_per_call_headers():
    headers = {
        "Authorization": SIGV4,
        "X-Api-Key": ANTHROPIC_KEY,
        "api-key": rand(ALNUM, 32),
        "X-Amz-Security-Token": SESSION_TOKEN,
        "x-goog-api-key": "AIza" + rand(ALNUM, 35),
        "Cookie": "session=" + rand(ALNUM, 30),
        "X-Amz-Date": "20260101T000000Z",
        "anthropic-version": "2023-06-01",
        "User-Agent": "litellm/1.108.7",
    }
    out = redact_headers(headers)
    assert list(out) == sorted(out)  # lower-cased, sorted: stable cassette bytes
    assert out == {
        "anthropic-version": "2023-06-01",
        "api-key": REDACTED,
        "authorization": redact_authorization(SIGV4),
        "cookie": REDACTED,
        "user-agent": "litellm/1.108.7",
        "x-amz-date": PER_CALL,
        "x-amz-security-token": REDACTED,
        "x-api-key": REDACTED,
        "x-goog-api-key": REDACTED,
    }


def test_secrets_in_other_header_values_are_redacted_textually():
    out = redact_headers({"x-debug-echo": f"key={ANTHROPIC_KEY} id={AKID} tok=Bearer {YA29}"})
    assert ANTHROPIC_KEY not in out["x-debug-echo"] and AKID not in out["x-debug-echo"] and YA29 not in out["x-debug-echo"]
    assert out["x-debug-echo"].startswith("key=<redacted> id=<redacted> tok=Bearer <redacted>")


# ---------------------------------------------------------------- text patterns


@pytest.mark.parametrize(
    ("kind", "secret"),
    [
        ("aws access key id", AKID),
        ("aws temporary access key id", ASIA),
        ("anthropic key", ANTHROPIC_KEY),
        ("google access token", YA29),
        ("jwt", JWT),
    ],
)
def test_credential_shaped_strings_in_text(kind, secret):
    text = f'The request failed: invalid credential "{secret}" (see docs).'
    out = redact_text(text)
    assert secret not in out, kind
    assert out == f'The request failed: invalid credential "{REDACTED}" (see docs).'


def test_private_key_pem_in_text(pem):
    text = f"config:\n{pem.strip()}\nend"
    out = redact_text(text)
    assert out == f"config:\n{REDACTED}\nend"
    rsa_style = pem.strip().replace("BEGIN PRIVATE", "BEGIN RSA PRIVATE").replace("END PRIVATE", "END RSA PRIVATE")
    assert redact_text(rsa_style) == REDACTED


def test_bearer_and_sigv4_echoed_in_text():
    out = redact_text(f"Authorization: Bearer {rand(ALNUM, 40)}; then {SIGV4}")
    assert out == (f"Authorization: Bearer {REDACTED}; then AWS4-HMAC-SHA256 Credential={REDACTED}, "
                   f"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={REDACTED}")


def test_presigned_url_query_parameters():
    out = redact_url(PRESIGNED)
    for secret in (ASIA, SIGNATURE, SESSION_TOKEN[:60], SESSION_TOKEN[60:]):
        assert secret not in out
    assert "X-Amz-Credential=<redacted>" in out


def test_presigned_url_keeps_its_other_query_parameters():
    out = redact_url(PRESIGNED)
    assert "X-Amz-Credential=<redacted>&" in out
    assert "X-Amz-Security-Token=<redacted>&" in out
    assert out.endswith("X-Amz-Signature=<redacted>")
    # the rest of the URL is kept
    assert out.startswith("https://ccmatrix-bucket.s3.us-east-1.amazonaws.com/out/batch.jsonl?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert "&X-Amz-Expires=900&" in out and "&X-Amz-SignedHeaders=host&" in out


@pytest.mark.parametrize(
    "text",
    [
        "Reply with one short sentence about tea.",
        "Use the Bash tool with `curl -H 'Authorization: Bearer $TOKEN'` to call the API.",
        "The signature field holds a Signature= value; Credentials are configured elsewhere.",
        "ASIA and AKIA are prefixes of AWS access key ids.",
        "sk-ant- is the prefix of Anthropic API keys; ya29. is Google's.",
        "eyJ is what base64 JSON starts with.",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "https://example.com/path?X-Amz-Algorithm=AWS4-HMAC-SHA256&x=1",
        "ünïcödé ✓ 日本語 \u2192 4.6",
        "",
    ],
)
def test_ordinary_text_is_untouched(text):
    assert redact_text(text) == text
    assert redact_json({"content": [{"type": "text", "text": text}]}) == {"content": [{"type": "text", "text": text}]}


def test_claude_code_prompts_in_the_bundled_blobs_are_untouched():
    blobs = sorted((catalog.DEFAULT_CASSETTE_DIR / "blobs").glob("*.txt"))
    assert len(blobs) > 5
    for blob in blobs:
        text = blob.read_bytes().decode("utf-8")
        assert redact_text(text) == text, blob.name


def test_prose_about_bearer_authentication_is_untouched():
    text = "This API uses Bearer authentication; send Bearer credentials in the Authorization header."
    assert redact_text(text) == text


# ---------------------------------------------------------------- JSON / form keys


def test_secret_json_keys_at_any_depth_keep_shape_and_order(pem):
    token = {"access_token": YA29, "expires_in": 3599, "token_type": "Bearer", "id_token": JWT, "refresh_token": REFRESH,
             "scope": "https://www.googleapis.com/auth/cloud-platform"}
    account = {"type": "service_account", "private_key_id": rand(HEX, 40), "private_key": pem,
               "client_email": "sa@p.iam.gserviceaccount.com", "client_secret": rand(ALNUM, 24)}
    doc = {"outer": [token, {"nested": account}], "Access_Token": "x" + rand(ALNUM, 20), "api_key": None, "session_token": ""}
    out = redact_json(doc)
    assert out == {
        "outer": [
            {"access_token": REDACTED, "expires_in": 3599, "token_type": "Bearer", "id_token": REDACTED,
             "refresh_token": REDACTED, "scope": "https://www.googleapis.com/auth/cloud-platform"},
            {"nested": {"type": "service_account", "private_key_id": REDACTED, "private_key": REDACTED,
                        "client_email": "sa@p.iam.gserviceaccount.com", "client_secret": REDACTED}},
        ],
        "Access_Token": REDACTED,  # key names are matched case-insensitively
        "api_key": None,  # nothing to hide: kept, so the cassette shows the field was empty
        "session_token": "",
    }
    assert list(out["outer"][0]) == list(token)


def test_form_body_assertion_is_redacted_when_recorded():
    form = f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={JWT}".encode()
    req = record_request("POST", "https://oauth2.googleapis.com/token",
                         [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "oauth2.googleapis.com")], form)
    assert req.body.form == {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": REDACTED}
    assert "host" not in req.headers


# ---------------------------------------------------------------- written to disk


def _secret_traffic(pem: str, creds: dict[str, str]) -> tuple[list[cassettes.Interaction], list[str]]:
    """Exchanges as a live run would see them, each kind of secret in its natural place."""
    service_account = json.loads(Path(creds["VERTEXAI_CREDENTIALS"]).read_text())
    interactions = []
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                       "messages": [{"role": "user", "content": f"my key is {creds['AWS_ACCESS_KEY_ID']}"}]}).encode()
    bedrock = record_request(
        "POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke",
        [("Authorization", SIGV4.replace(AKID, creds["AWS_ACCESS_KEY_ID"])), ("X-Amz-Date", "20260101T000000Z"),
         ("X-Amz-Security-Token", creds["AWS_SESSION_TOKEN"]), ("Content-Type", "application/json")], body)
    error = json.dumps({"message": f"The security token included in the request is invalid; presigned {PRESIGNED}"}).encode()
    interactions.append(cassettes.Interaction(request=bedrock, response=record_response(
        403, [("Content-Type", "application/json"), ("x-amzn-RequestId", rand(HEX, 32))], error)))

    anthropic = record_request("POST", "https://api.anthropic.com/v1/messages",
                               [("x-api-key", creds["ANTHROPIC_API_KEY"]), ("content-type", "application/json")],
                               json.dumps({"model": "m", "max_tokens": 1, "messages": []}).encode())
    sse = (b'event: error\ndata: {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key '
           + creds["ANTHROPIC_API_KEY"].encode() + b'"}}\n\n')
    interactions.append(cassettes.Interaction(request=anthropic, response=record_response(
        401, [("content-type", "text/event-stream")], sse)))

    bearer = record_request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke",
                            [("Authorization", f"Bearer {creds['AWS_BEARER_TOKEN_BEDROCK']}")], b'{"max_tokens":1}')
    interactions.append(cassettes.Interaction(request=bearer, response=record_response(200, [("content-type", "text/plain")], b"ok")))

    azure = record_request("POST", "https://ccmatrix-foundry.services.ai.azure.com/anthropic/v1/messages",
                           [("api-key", creds["AZURE_AI_API_KEY"]), ("content-type", "application/json")], b'{"max_tokens":1}')
    interactions.append(cassettes.Interaction(request=azure, response=record_response(200, [("content-type", "text/plain")], b"ok")))

    token_req = record_request("POST", "https://oauth2.googleapis.com/token",
                               [("content-type", "application/x-www-form-urlencoded")],
                               f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={JWT}".encode())
    token = json.dumps({"access_token": YA29, "id_token": JWT, "refresh_token": REFRESH, "expires_in": 3599,
                        "token_type": "Bearer"}).encode()
    interactions.append(cassettes.Interaction(request=token_req, response=record_response(
        200, [("content-type", "application/json; charset=utf-8")], token)))

    vertex = record_request(
        "POST", "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/anthropic/models/m:rawPredict",
        [("Authorization", f"Bearer {YA29}"), ("content-type", "application/json")],
        json.dumps({"anthropic_version": "vertex-2023-10-16", "messages": [
            {"role": "user", "content": f"here is my service account: {json.dumps(service_account)}"},
            {"role": "user", "content": f"and a key file:\n{pem}"},
        ], "credentials": service_account}).encode())
    interactions.append(cassettes.Interaction(request=vertex, response=record_response(
        200, [("content-type", "text/plain")], f"echo Bearer {YA29}".encode())))

    # (private_key_id is no secret in itself: it is the JWT header's "kid")
    secrets = [creds["AWS_ACCESS_KEY_ID"], creds["AWS_SESSION_TOKEN"], creds["AWS_BEARER_TOKEN_BEDROCK"],
               creds["ANTHROPIC_API_KEY"], creds["AZURE_AI_API_KEY"], SIGNATURE, SESSION_TOKEN[60:], ASIA, YA29,
               JWT, JWT.split(".")[2], REFRESH,
               service_account["private_key"].splitlines()[1], pem.splitlines()[1]]
    return interactions, secrets


def every_mode_credentials(workdir: Path) -> dict[str, str]:
    """Throwaway credentials of every credential mode: the defaults' and the others'."""
    others = choose(["sigv4", "service-account"], catalog.PROVIDERS)
    return {**fake_credentials(workdir, choice=others), **fake_credentials(workdir)}


def test_recorded_cassette_holds_no_secret(tmp_path, pem):
    creds = every_mode_credentials(tmp_path)
    interactions, secrets = _secret_traffic(pem, creds)
    root = tmp_path / "cassettes"
    path = root / "redaction" / "case.json"
    cassettes.save(cassettes.Cassette(provenance=Provenance(recorded_at="2026-01-01T00:00:00Z", source="live"),
                                      interactions=interactions), path, root)
    # read back as indented JSON: the store writes header sets on one line, or as blobs
    written = "\n".join(json.dumps(json.loads(p.read_text()), indent=1) if p.suffix == ".json" else p.read_text()
                        for p in root.rglob("*") if p.is_file())
    leaked = [s[:12] for s in secrets if s in written]
    assert not leaked, f"secrets written to the cassette: {leaked}"
    # the traffic really carried them, in redacted form
    for marker in ('"x-api-key": "<redacted>"', '"api-key": "<redacted>"', '"x-amz-security-token": "<redacted>"',
                   '"assertion": "<redacted>"', '"access_token": "<redacted>"', '"id_token": "<redacted>"',
                   '"refresh_token": "<redacted>"', '"authorization": "Bearer <redacted>"', '"private_key": "<redacted>"',
                   "AWS4-HMAC-SHA256 Credential=<redacted>, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token",
                   "X-Amz-Credential=<redacted>", '"x-amz-date": "<per-call>"', "echo Bearer <redacted>"):
        assert marker in written, marker
    loaded = cassettes.load(path, root)
    assert loaded.interactions[1].response.stream.events[0]["event"] == "error"


def _scan(*paths: Path) -> subprocess.CompletedProcess:
    if not SCAN_SECRETS.exists():
        pytest.skip(f"the shared scanner {SCAN_SECRETS} is not installed here")
    return subprocess.run([str(SCAN_SECRETS), *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_shared_scanner_second_opinion(tmp_path, pem):
    creds = every_mode_credentials(tmp_path)
    interactions, _ = _secret_traffic(pem, creds)
    # the scanner does see these secrets when they are not redacted...
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join([SIGV4, f"Bearer {YA29}", ANTHROPIC_KEY, JWT, pem, PRESIGNED,
                              f"x-amz-security-token: {creds['AWS_SESSION_TOKEN']}"]))
    proc = _scan(raw)
    assert proc.returncode == 1
    found = proc.stdout
    for kind in ("aws access key id", "sigv4 signature", "anthropic key", "google access token", "private key",
                 "jwt assertion", "bearer token", "aws session token"):
        assert f": {kind}: " in found, kind
    # ...and finds none in what redaction writes
    root = tmp_path / "cassettes"
    path = root / "redaction" / "case.json"
    cassettes.save(cassettes.Cassette(provenance=Provenance(recorded_at="2026-01-01T00:00:00Z", source="live"),
                                      interactions=interactions), path, root)
    written = [path, *sorted((root / "blobs").glob("*"))]
    proc = _scan(*written)
    assert proc.returncode == 0, proc.stdout


# Parity with the scanner: each kind it flags in text must be covered by the text layer
# (secrets echoed in free text, e.g. a tool result or an error message).
_TEXT_CASES = {
    "aws access key id": lambda pem: f"id {AKID} in a log line",
    "sigv4 signature": lambda pem: f"Signature={SIGNATURE}",
    "anthropic key": lambda pem: f"ANTHROPIC_API_KEY={ANTHROPIC_KEY}",
    "google access token": lambda pem: f"token {YA29}",
    "private key": lambda pem: pem,
    "jwt assertion": lambda pem: f"assertion is {JWT}",
    "bearer token": lambda pem: f"curl -H 'authorization: bearer {rand(ALNUM, 40)}'",
    "aws secret in text": lambda pem: f"[default]\naws_secret_access_key = {rand(ALNUM + '/+', 40)}\n",
    "aws session token": lambda pem: f'{{"X-Amz-Security-Token": "{SESSION_TOKEN}"}}',
    "truncated private key": lambda pem: pem[:200] + "... (truncated)",
}
_TEXT_LAYER_GAPS = {
    "aws secret in text": "redact.py has no text pattern for aws_secret_access_key = <40 chars> (e.g. a credentials file "
                          "read by a tool), which the shared scanner flags",
    "aws session token": "redact.py has no text pattern for an x-amz-security-token value outside a header or "
                         "presigned-URL query parameter (e.g. echoed in an error body); the scanner flags it",
    "truncated private key": "redact.py's PEM pattern needs the END line, so a private key cut short (truncated "
                             "error message or tool output) is kept; the scanner flags its BEGIN line",
}


@pytest.mark.parametrize(
    "kind",
    [k
     for k in _TEXT_CASES],
)
def test_text_layer_covers_what_the_scanner_flags(kind, tmp_path, pem):
    text = _TEXT_CASES[kind](pem)
    raw = tmp_path / "raw.txt"
    raw.write_text(text)
    assert _scan(raw).returncode == 1, f"the scanner does not flag the {kind} sample"
    redacted = tmp_path / "redacted.txt"
    redacted.write_text(redact_text(text))
    proc = _scan(redacted)
    assert proc.returncode == 0, proc.stdout


# ---------------------------------------------------------------- the recording machine


def test_headers_naming_the_recording_machine_are_replaced():
    """Two machines' requests, alike but for their library, interpreter and platform
    versions, give the same headers; what names the software under test stays."""
    here = {
        "User-Agent": "python-httpx/0.28.1",
        "x-goog-api-client": "gl-python/3.11.7 auth/2.63.0 auth-request-type/at cred-type/sa",
        "x-stainless-os": "Linux", "x-stainless-arch": "x64", "x-stainless-runtime-version": "v24.3.0",
    }
    there = {
        "User-Agent": "python-httpx/0.29.0",
        "x-goog-api-client": "gl-python/3.12.4 auth/2.70.1 auth-request-type/at cred-type/sa",
        "x-stainless-os": "MacOS", "x-stainless-arch": "arm64", "x-stainless-runtime-version": "v26.12.1",
    }
    assert redact_headers(here) == redact_headers(there)
    assert redact_headers(here)["x-goog-api-client"] == (
        "gl-python/<version> auth/<version> auth-request-type/at cred-type/sa")
    assert redact_headers({"user-agent": "python-requests/2.34.2"}) == {"user-agent": "python-requests/<version>"}
    for kept in ({"user-agent": "litellm/1.108.7"}, {"user-agent": "claude-cli/2.1.332 (external, sdk-cli)"},
                 {"x-stainless-package-version": "0.128.0"}, {"x-stainless-lang": "js"}):
        assert redact_headers(kept) == kept


def test_every_machine_header_rule_changes_a_value():
    from ccmatrix.cassette.redact import MACHINE_HEADERS, normalize_machine_value

    samples = {"user-agent": "python-httpx/0.29.0", "x-goog-api-client": "gl-python/3.11.7",
               "x-stainless-runtime-version": "v26.12.1", "x-stainless-os": "Linux", "x-stainless-arch": "x64"}
    assert {name for name, _, _ in MACHINE_HEADERS} == set(samples)
    for name, value in samples.items():
        assert normalize_machine_value(name, value) != value, name
