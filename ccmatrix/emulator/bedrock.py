"""Bedrock Runtime (bedrock-runtime.<region>.amazonaws.com): routing, auth, InvokeModel.

InvokeModel carries Anthropic Messages bodies (`anthropic_version:
"bedrock-2023-05-31"`, no `model`, no `stream`) and answers with the Message
JSON; the streaming variant wraps each Anthropic stream event in an AWS event
stream message `{"bytes": base64(event JSON)}`. Converse lives in converse.py.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

from ccmatrix.emulator import anthropic_messages as messages
from ccmatrix.emulator import converse, ids
from ccmatrix.emulator.aws import aws_error, event_message, malformed, stream_headers, validation_error
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response, parse_json_object
from ccmatrix.emulator.plan import ReplyPlan, plan_reply
from ccmatrix.wire.sse import compact_json

BEDROCK_VERSION = "bedrock-2023-05-31"
INVOKE_FIELDS = (messages.MESSAGES_FIELDS - {"model", "stream"}) | {"anthropic_version", "anthropic_beta"}

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<action>invoke|invoke-with-response-stream|converse|converse-stream)$")


def handle(req: EmulatedRequest) -> EmulatedResponse | None:
    match = _ROUTE.match(req.route_path)
    if req.method != "POST" or not match:
        return None
    auth = req.header("authorization") or ""
    # SigV4 is what LiteLLM sends; "Bearer" is a Bedrock API key, also accepted by AWS.
    if not (auth.startswith("AWS4-HMAC-SHA256 ") or auth.startswith("Bearer ")):
        return aws_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token", req.seed)
    model = unquote(match["model"])  # LiteLLM sends "...-v1%3A0"
    action = match["action"]
    body = parse_json_object(req.body)
    if body is None:
        return validation_error("Malformed input request, please reformat your input and try again.", req.seed)
    if action.startswith("converse"):
        return converse.handle(req, body, model, stream=action == "converse-stream")
    return _invoke(req, body, model, stream=action == "invoke-with-response-stream")


def _invoke(req: EmulatedRequest, body: dict, model: str, stream: bool) -> EmulatedResponse:
    for name in ("anthropic_version", "messages", "max_tokens"):
        if name not in body:
            return malformed(f"#: required key [{name}] not found", req.seed)
    # Bedrock checks the body against its JSON schema before the model sees it
    # (measured: "#: extraneous key [frequency_penalty] is not permitted").
    for name in body:
        if name not in INVOKE_FIELDS:
            return malformed(f"#: extraneous key [{name}] is not permitted", req.seed)
    if body["anthropic_version"] != BEDROCK_VERSION:
        return validation_error(f"anthropic_version: Input should be '{BEDROCK_VERSION}'", req.seed)
    problem = messages.body_problem(body, INVOKE_FIELDS, ())
    if problem:
        return validation_error(problem, req.seed)
    plan = plan_reply(messages.conversation(req, body, model))
    message_id = ids.anthropic_id(req.seed, "msg_bdrk_")
    request_id = ids.aws_request_id(req.seed)
    if not stream:
        return json_response(
            200,
            messages.render_message(plan, message_id),
            {
                "x-amzn-RequestId": request_id,
                "X-Amzn-Bedrock-Invocation-Latency": str(plan.latency_ms()),
                "X-Amzn-Bedrock-Output-Token-Count": str(plan.output_tokens),
                "X-Amzn-Bedrock-Input-Token-Count": str(plan.input_tokens),
            },
        )
    events = messages.render_stream_events(plan, message_id, stop_extra={"amazon-bedrock-invocationMetrics": invocation_metrics(plan)})
    chunks = [event_message("chunk", {"bytes": _b64_json(event)}) for event in events]
    return EmulatedResponse(200, stream_headers(req.seed), chunks)


def invocation_metrics(plan: ReplyPlan) -> dict:
    """What real Bedrock appends to the final message_stop event."""
    return {
        "inputTokenCount": plan.input_tokens,
        "outputTokenCount": plan.output_tokens,
        "invocationLatency": plan.latency_ms(),
        "firstByteLatency": plan.first_byte_latency_ms(),
    }


def _b64_json(event: dict) -> str:
    return base64.b64encode(compact_json(event).encode("utf-8")).decode("ascii")
