"""What Bedrock's two LiteLLM routes share: hosts, model ids, AWS credentials, AWS errors."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from ccmatrix.providers import credentials, ids
from ccmatrix.providers.base import ALNUM, MISMATCH_STATUS, ErrorAnswer, NativeHarmless, Provider, random_text
from ccmatrix.providers.contract import ProviderRequest, Violation
from ccmatrix.providers.credentials import CredentialMode

RUNTIME_HOSTS = ("bedrock-runtime.*.amazonaws.com",)
# bedrock-mantle: Bedrock's Anthropic-compatible API (LiteLLM's count_tokens route)
MANTLE_HOSTS = ("bedrock-mantle.*.api.aws",)
AWS_REGION = "us-east-1"
# AWS STS (AssumeRole), global and regional endpoints: a token endpoint of the run
STS_HOSTS = ("sts.amazonaws.com", "sts.*.amazonaws.com")
ROLE_ARN = "arn:aws:iam::123456789012:role/ccmatrix-bedrock"
MODEL_IDS = {
    "haiku": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "sonnet": "us.anthropic.claude-sonnet-4-6",
    "opus": "us.anthropic.claude-opus-4-7",
}


AWS_MESSAGES_DOC = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html"
VALIDATION = "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
MODEL_ERRORS = "The model returned the following errors: "

# anthropic_beta values Bedrock refuses ("invalid beta flag"), each seen refused
REJECTED_BETAS = frozenset({
    "advanced-tool-use-2025-11-20",  # BerriAI/litellm#19373, anthropics/claude-code#30926
    "mcp-servers-2025-12-04",  # BerriAI/litellm#19877
    "extended-cache-ttl-2025-04-11",  # anthropics/claude-code#56595
    "oauth-2025-04-20", "prompt-caching-scope-2026-01-05", "fast-mode-2026-02-01",
    "redact-thinking-2026-02-12",  # router-for-me/CLIProxyAPI#4750
})
# ... and the ones it is documented or seen to take (the AWS table; envoyproxy/ai-gateway#2512)
ACCEPTED_BETAS = frozenset({
    "computer-use-2024-10-22", "computer-use-2025-01-24", "computer-use-2025-11-24",
    "token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14", "output-128k-2025-02-19",
    "dev-full-thinking-2025-05-14", "context-1m-2025-08-07", "context-management-2025-06-27",
    "effort-2025-11-24", "tool-search-tool-2025-10-19", "tool-examples-2025-10-29", "compact-2026-01-12",
    "fine-grained-tool-streaming-2025-05-14", "token-counting-2024-11-01", "mcp-client-2025-04-04",
    "mcp-client-2025-11-20", "web-search-2025-03-05", "search-results-2025-06-09", "claude-code-20250219",
    "structured-outputs-2025-12-15",
})
BETA_EVIDENCE = ("https://github.com/BerriAI/litellm/pull/19877", "https://github.com/BerriAI/litellm/pull/19373",
                 AWS_MESSAGES_DOC)


def rejected_betas(betas: list[str]) -> str | None:
    return "invalid beta flag" if any(b in REJECTED_BETAS for b in betas) else None


def unknown_betas(betas: list[str]) -> str | None:
    unknown = [b for b in betas if b not in ACCEPTED_BETAS and b not in REJECTED_BETAS]
    return f"invalid beta flag (not known to Bedrock: {', '.join(unknown)})" if unknown else None


def native_1m(request: ProviderRequest) -> bool:
    """Bedrock serves the 4.6 generation and later with 1M context, no beta needed."""
    return any(tag in request.model for tag in ("sonnet-4-6", "opus-4-6", "opus-4-7"))


def _adaptive(expected: dict[str, Any]) -> bool:
    return expected.get("body.thinking.type") == "adaptive"


# Measured (docs/red-cells.md, "Native reference"): natively Claude Code sends Bedrock
# `interleaved-thinking-2025-05-14` on every thinking tier; LiteLLM drops it on the
# adaptive ones (Sonnet 4.6, Opus 4.7) only.
INTERLEAVED_ON_ADAPTIVE = NativeHarmless(
    "beta.interleaved-thinking-2025-05-14",
    "adaptive thinking interleaves by itself and needs no beta header (AWS Bedrock user guide, 'Adaptive "
    "thinking': 'No beta header is required')",
    _adaptive)


def access_keys(workdir: Path, token_uri: str | None = None) -> dict[str, str]:
    """Throwaway long-term access keys (AKIA...) and a session token, as SigV4 needs."""
    return {
        "AWS_ACCESS_KEY_ID": "AKIA" + random_text(string.ascii_uppercase + string.digits, 16),
        "AWS_SECRET_ACCESS_KEY": random_text(ALNUM + "/+", 40),
        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2Vj" + random_text(ALNUM, 120),
    }


def bedrock_api_key(workdir: Path, token_uri: str | None = None) -> dict[str, str]:
    return {"AWS_BEARER_TOKEN_BEDROCK": credentials.BEDROCK_API_KEY_PREFIX + random_text(ALNUM, 100)}


def _base_keys(workdir: Path, token_uri: str | None = None) -> dict[str, str]:
    keys = access_keys(workdir)
    del keys["AWS_SESSION_TOKEN"]  # the role's session token comes from STS
    return keys


HARNESS_ENV = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/cron_vm/litellm-compat-matrix.env.example"
HARNESS_CONFIG = "https://github.com/BerriAI/litellm/blob/main/tests/e2e/claude_code/test_config.yaml"
BEDROCK_API_KEYS_DOC = "https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html"
SIGV4_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html"
ASSUME_ROLE_DOC = "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html"
LITELLM_BEDROCK_AUTH = "https://docs.litellm.ai/docs/providers/bedrock#boto3---authentication"

CREDENTIAL_MODES: tuple[CredentialMode, ...] = (
    # the live harness's: "Use Anthropic's Bedrock API-key passthrough ... No AWS_ACCESS_KEY_ID/
    # AWS_SECRET_ACCESS_KEY required"; its deployments carry only aws_region_name
    CredentialMode(
        "api-key", "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK), sent as a bearer token",
        (HARNESS_ENV, HARNESS_CONFIG, BEDROCK_API_KEYS_DOC),
        {"aws_region_name": AWS_REGION}, ("AWS_BEARER_TOKEN_BEDROCK",), bedrock_api_key,
        credentials.bearer(credentials.BEDROCK_API_KEY_PREFIX, "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"),
        # LiteLLM (1.83.14 to 1.110.2, llms/bedrock/base_aws_llm.py) sends the variable as a
        # bearer token whenever it is set, whatever keys a deployment names
        live_default=True, takes_over_family=True),
    CredentialMode(
        "sigv4", "access keys from the environment, each request SigV4-signed",
        (SIGV4_DOC, LITELLM_BEDROCK_AUTH),
        {"aws_region_name": AWS_REGION, "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
         "aws_secret_access_key": "os.environ/AWS_SECRET_ACCESS_KEY",
         "aws_session_token": "os.environ/AWS_SESSION_TOKEN"},
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), access_keys,
        credentials.sigv4("bedrock", AWS_REGION, temporary=False), optional_variables=("AWS_SESSION_TOKEN",)),
    CredentialMode(
        "assumed-role", "access keys that assume a role through STS; requests signed with the role's session "
        "credentials", (ASSUME_ROLE_DOC, LITELLM_BEDROCK_AUTH),
        {"aws_region_name": AWS_REGION, "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
         "aws_secret_access_key": "os.environ/AWS_SECRET_ACCESS_KEY", "aws_role_name": ROLE_ARN,
         "aws_session_name": "ccmatrix"},
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), _base_keys,
        credentials.sigv4("bedrock", AWS_REGION, temporary=True)),
)


class Bedrock(Provider):
    hosts = RUNTIME_HOSTS + MANTLE_HOSTS + STS_HOSTS
    auth_hosts = {host: "aws_sts" for host in STS_HOSTS}
    model_ids = MODEL_IDS
    credential_modes = CREDENTIAL_MODES
    native_harmless = (INTERLEAVED_ON_ADAPTIVE,)

    def rejection(self, violation: Violation, seed: str) -> ErrorAnswer:
        # AWS JSON errors: {"message"} in the body, the type in x-amzn-ErrorType
        message = (MODEL_ERRORS + violation.message) if violation.rule.model_error else violation.message
        headers = {"content-type": "application/json", "x-amzn-RequestId": ids.aws_request_id(seed),
                   "x-amzn-ErrorType": VALIDATION}
        return violation.rule.status, headers, json.dumps({"message": message}, separators=(",", ":")).encode()

    def unauthenticated(self, message: str, seed: str) -> ErrorAnswer:
        # AWS refuses credentials it does not take with 403 and the type in x-amzn-ErrorType
        # (botocore: UnrecognizedClientException, "The security token included in the request is invalid.")
        headers = {"content-type": "application/json", "x-amzn-RequestId": ids.aws_request_id(seed),
                   "x-amzn-ErrorType": "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/"}
        return 403, headers, json.dumps({"message": message}, separators=(",", ":")).encode()

    def fault_answer(self, kind: str, seed: str) -> ErrorAnswer | None:
        # botocore's bedrock-runtime model: ThrottlingException is 429, ServiceUnavailableException
        # 503; AWS JSON errors carry the type in x-amzn-ErrorType and no retry-after
        faults = {"rate_limited": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
                  "overloaded": (503, "ServiceUnavailableException", "Bedrock is unable to process your request.")}
        if kind not in faults:
            return None
        status, error_type, message = faults[kind]
        headers = {"content-type": "application/json", "x-amzn-RequestId": ids.aws_request_id(seed),
                   "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        return status, headers, json.dumps({"message": message}, separators=(",", ":")).encode()

    def stream_fault_event(self) -> dict | None:
        # an exception frame inside the 200 event stream (ccmatrix/emulator/aws.py frames it);
        # botocore: "An error occurred while streaming the response. Retry your request."
        return {"type": "modelStreamErrorException", "message": "The model stream failed (ccmatrix emulator: a fault "
                "on purpose)."}

    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        # AWS JSON errors: {"message"} in the body, the type in x-amzn-ErrorType
        headers = {"content-type": "application/json", "x-amzn-errortype": "ValidationException:ccmatrix"}
        return status, headers, json.dumps({"message": message}).encode()
