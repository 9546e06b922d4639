"""Bedrock Runtime (bedrock-runtime.<region>.amazonaws.com): routing, auth, InvokeModel.

InvokeModel carries Anthropic Messages bodies (`anthropic_version:
"bedrock-2023-05-31"`, no `model`, no `stream`) and answers with the Message
JSON; the streaming variant wraps each Anthropic stream event in an AWS event
stream message `{"bytes": base64(event JSON)}`. Converse lives in converse.py.
CountTokens (`/model/{id}/count-tokens`) sizes either kind of request.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from urllib.parse import unquote

from ccmatrix.emulator import anthropic_messages as messages
from ccmatrix.emulator import converse, faults
from ccmatrix.emulator.aws import aws_error, event_message, exception_frame, malformed, stream_headers, validation_error
from ccmatrix.emulator.exchange import (
    EmulatedRequest,
    EmulatedResponse,
    contract_answer,
    json_response,
    parse_json_object,
)
from ccmatrix.emulator.plan import ReplyPlan, plan_reply
from ccmatrix.providers import bedrock_converse, bedrock_invoke, ids
from ccmatrix.wire.sse import compact_json

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<action>invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$")


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
    if action == "count-tokens":
        return _count_tokens(req, body)
    if action.startswith("converse"):
        return converse.handle(req, body, model, stream=action == "converse-stream")
    return _invoke(req, body, model, stream=action == "invoke-with-response-stream")


def _invoke(req: EmulatedRequest, body: dict, model: str, stream: bool) -> EmulatedResponse:
    rejected = contract_answer(bedrock_invoke.PROVIDER, req, body)
    if rejected is not None:
        return rejected
    asked = messages.conversation(req, body, model)
    fault = faults.failing(asked, req)
    if (failed := faults.status_fault(bedrock_invoke.PROVIDER, fault, req)) is not None:
        return failed
    plan = plan_reply(asked)
    message_id = ids.bedrock_message_id(req.seed)
    request_id = ids.aws_request_id(req.seed)
    if not stream:
        headers = {
            "x-amzn-RequestId": request_id,
            "X-Amzn-Bedrock-Invocation-Latency": str(plan.latency_ms()),
            "X-Amzn-Bedrock-Output-Token-Count": str(plan.output_tokens),
            "X-Amzn-Bedrock-Input-Token-Count": str(plan.input_tokens),
        }
        if plan.cache_creation_input_tokens or plan.cache_read_input_tokens:
            headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(plan.cache_read_input_tokens)
            headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(plan.cache_creation_input_tokens)
        return json_response(200, messages.render_message(plan, message_id, messages.INVOKE), headers)
    events = messages.render_stream_events(plan, message_id, messages.INVOKE,
                                           stop_extra={"amazon-bedrock-invocationMetrics": invocation_metrics(plan)})
    # each chunk: {"bytes": base64(the model's event, compact, unpadded), "p": padding}
    chunks = [event_message("chunk", {"bytes": _b64_json(event), "p": ids.padding(req.seed, f"chunk:{n}")})
              for n, event in enumerate(events)]
    return faults.break_stream(EmulatedResponse(200, stream_headers(req.seed), chunks), bedrock_invoke.PROVIDER,
                               fault, [e["type"] for e in events], exception_frame)


def invocation_metrics(plan: ReplyPlan) -> dict:
    """What real Bedrock appends to the final message_stop event."""
    metrics = {
        "inputTokenCount": plan.input_tokens,
        "outputTokenCount": plan.output_tokens,
        "invocationLatency": plan.latency_ms(),
        "firstByteLatency": plan.first_byte_latency_ms(),
    }
    if plan.cache_creation_input_tokens or plan.cache_read_input_tokens:
        metrics["cacheReadInputTokenCount"] = plan.cache_read_input_tokens
        metrics["cacheWriteInputTokenCount"] = plan.cache_creation_input_tokens
    return metrics


def _count_tokens(req: EmulatedRequest, body: dict) -> EmulatedResponse:
    """CountTokens: {"input": {"invokeModel": {"body": blob}} | {"converse": {...}}} -> {"inputTokens": N}.

    N is what the same request sent to InvokeModel / Converse would report as input.
    """
    wrapped = body.get("input")
    if not isinstance(wrapped, dict) or len(wrapped) != 1 or next(iter(wrapped)) not in ("invokeModel", "converse"):
        return validation_error("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must set exactly one of [invokeModel, converse]", req.seed)
    kind, value = next(iter(wrapped.items()))
    if kind == "invokeModel":
        raw = value.get("body") if isinstance(value, dict) else None
        inner = _blob(raw)
        if inner is None or parse_json_object(inner) is None:
            return malformed("#: expected type: JSONObject, found: String", req.seed)
        size = len(inner)
    else:
        if not isinstance(value, dict):
            return validation_error("1 validation error detected: Value at 'input.converse' failed to satisfy constraint: Member must not be null", req.seed)
        # the wrapped request is judged as Converse itself would judge it
        inner = dataclasses.replace(req, path=req.path.replace("/count-tokens", "/converse"))
        rejected = contract_answer(bedrock_converse.PROVIDER, inner, value)
        if rejected is not None:
            return rejected
        size = len(compact_json(value).encode("utf-8"))
    return json_response(200, {"inputTokens": max(1, size // 4)}, {"x-amzn-RequestId": ids.aws_request_id(req.seed)})


def _blob(raw: object) -> bytes | None:
    """A JSON-protocol blob is base64 (what botocore sends); a raw JSON string is accepted too."""
    if not isinstance(raw, str):
        return None
    if raw.lstrip().startswith("{"):
        return raw.encode("utf-8")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return None


def _b64_json(event: dict) -> str:
    return base64.b64encode(compact_json(event).encode("utf-8")).decode("ascii")
