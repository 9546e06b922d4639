"""AWS STS AssumeRole (sts.amazonaws.com, sts.<region>.amazonaws.com): the session
credentials a Bedrock deployment with `aws_role_name` signs with.

The query protocol: a form-encoded POST (`Action=AssumeRole&RoleArn=...`), SigV4-
signed for `sts` with the caller's own keys, answered in XML (botocore's sts model
parses it; docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html). The
access key handed out is marked as the emulator's (credentials.STS_ACCESS_KEY_PREFIX),
so a Bedrock request signed with the base keys instead is told apart.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse
from ccmatrix.providers import ids
from ccmatrix.providers.credentials import STS_ACCESS_KEY_PREFIX, STS_ACCESS_KEY_SUFFIX

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
# Fixed, far ahead: the answer must not change with the clock (a re-recording of
# unchanged traffic rewrites nothing); LiteLLM then caches the credentials for the run.
EXPIRATION = "2099-12-31T23:59:59Z"
ACCOUNT = "123456789012"  # the throwaway keys' account (the role is in it: bedrock.ROLE_ARN)
_ROLE = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]+)$")


def _xml(status: int, body: str) -> EmulatedResponse:
    return EmulatedResponse(status, {"content-type": "text/xml"}, [body.encode()])


def _error(status: int, code: str, message: str, seed: str) -> EmulatedResponse:
    return _xml(status, f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
                        f"<Message>{escape(message)}</Message></Error>"
                        f"<RequestId>{ids.aws_request_id(seed)}</RequestId></ErrorResponse>")


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    if req.method != "POST" or req.route_path not in ("", "/"):
        return None
    if not (req.header("authorization") or "").startswith("AWS4-HMAC-SHA256 "):
        return _error(403, "MissingAuthenticationToken", "Request is missing Authentication Token", req.seed)
    form = req.form
    if form.get("Action") == "GetCallerIdentity":  # LiteLLM asks who the keys are before assuming the role
        return _xml(200, (
            f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
            f"<Arn>arn:aws:iam::{ACCOUNT}:user/ccmatrix</Arn><UserId>AIDA{ids.base58(ids.digest(req.seed, 'user'), 17).upper()}"
            f"</UserId><Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{ids.aws_request_id(req.seed)}</RequestId></ResponseMetadata>"
            f"</GetCallerIdentityResponse>"))
    if form.get("Action") != "AssumeRole":
        return _error(400, "InvalidAction", f"Could not find operation {form.get('Action')} for version "
                                            f"{form.get('Version')}", req.seed)
    role = _ROLE.match(form.get("RoleArn", ""))
    session = form.get("RoleSessionName", "")
    if role is None or not session:
        return _error(400, "ValidationError", "1 validation error detected: Value at 'roleArn' failed to satisfy "
                                              "constraint: Member must satisfy regular expression pattern", req.seed)
    key = STS_ACCESS_KEY_PREFIX + ids.base58(ids.digest(req.seed, "sts-key"), 5).upper() + STS_ACCESS_KEY_SUFFIX
    secret = "ccmatrix-emulator-sts-secret-" + ids.base58(ids.digest(req.seed, "sts-secret"), 24)
    token = "ccmatrix-emulator-sts-session-" + ids.token(req.seed, 64)
    role_id = "AROA" + ids.base58(ids.digest(req.seed, "role-id"), 17).upper()
    return _xml(200, (
        f'<AssumeRoleResponse xmlns="{NAMESPACE}"><AssumeRoleResult>'
        f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
        f"<SessionToken>{token}</SessionToken><Expiration>{EXPIRATION}</Expiration></Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>{role_id}:{escape(session)}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{role['account']}:assumed-role/{escape(role['name'])}/{escape(session)}</Arn>"
        f"</AssumedRoleUser></AssumeRoleResult>"
        f"<ResponseMetadata><RequestId>{ids.aws_request_id(req.seed)}</RequestId></ResponseMetadata>"
        f"</AssumeRoleResponse>"))
