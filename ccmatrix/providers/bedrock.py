"""What Bedrock's two LiteLLM routes share: hosts, model ids, AWS credentials, AWS errors."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from ccmatrix.providers.base import ALNUM, MISMATCH_STATUS, DirectUpstream, ErrorAnswer, Provider, random_text

RUNTIME_HOSTS = ("bedrock-runtime.*.amazonaws.com",)
# bedrock-mantle: Bedrock's Anthropic-compatible API (LiteLLM's count_tokens route)
MANTLE_HOSTS = ("bedrock-mantle.*.api.aws",)
AWS_REGION = "us-east-1"
MODEL_IDS = {
    "haiku": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "sonnet": "us.anthropic.claude-sonnet-4-6",
    "opus": "us.anthropic.claude-opus-4-7",
}


class Bedrock(Provider):
    hosts = RUNTIME_HOSTS + MANTLE_HOSTS
    model_ids = MODEL_IDS
    live_variables = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    optional_live_variables = ("AWS_SESSION_TOKEN",)

    def litellm_params(self, model_id: str) -> dict[str, Any]:
        return {
            "model": self.litellm_prefix + model_id,
            "aws_region_name": AWS_REGION,
            "aws_access_key_id": "os.environ/AWS_ACCESS_KEY_ID",
            "aws_secret_access_key": "os.environ/AWS_SECRET_ACCESS_KEY",
            "aws_session_token": "os.environ/AWS_SESSION_TOKEN",
        }

    def fake_credentials(self, workdir: Path, token_uri: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "AKIA" + random_text(string.ascii_uppercase + string.digits, 16),
            "AWS_SECRET_ACCESS_KEY": random_text(ALNUM + "/+", 40),
            "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2Vj" + random_text(ALNUM, 120),
        }

    def direct_upstream(self, url: str) -> DirectUpstream:
        # SigV4 is still signed, against the loopback host. Count tokens for models only
        # offered cross-region goes to bedrock-mantle.<region>.api.aws; 1.108.7's
        # count_tokens handler ignores the deployment's endpoint, only this variable moves it.
        return DirectUpstream(params={"aws_bedrock_runtime_endpoint": url}, env={"BEDROCK_MANTLE_API_BASE": url})

    def error_answer(self, message: str, status: int = MISMATCH_STATUS) -> ErrorAnswer:
        # AWS JSON errors: {"message"} in the body, the type in x-amzn-ErrorType
        headers = {"content-type": "application/json", "x-amzn-errortype": "ValidationException:ccmatrix"}
        return status, headers, json.dumps({"message": message}).encode()
