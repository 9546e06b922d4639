"""Bedrock Converse: its own request shape, answered as Converse JSON or event stream."""

from __future__ import annotations

import functools
import json
from typing import Any

from ccmatrix.providers import messages_api as api
from ccmatrix.providers.base import CONVERSE
from ccmatrix.providers.bedrock import BETA_EVIDENCE, Bedrock, native_1m, rejected_betas, unknown_betas
from ccmatrix.providers.contract import ProviderRequest, Rule, extra_inputs, on_path
from ccmatrix.wire.messages import (
    AssistantMessage,
    from_anthropic_json,
    from_converse_json,
    from_converse_stream,
    from_sse,
)

CONVERSE_ROUTE = on_path(r"^/model/[^/]+/(converse|converse-stream)$")
CONVERSE_DOC = "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html"
# the Anthropic request fields Converse passes through additionalModelRequestFields
# (merged into the model's own request, so its validator sees them)
MODEL_FIELDS = frozenset({"thinking", "output_config", "anthropic_beta", "top_k", "context_management",
                          "reasoning_config", "tool_choice"})


@functools.lru_cache(maxsize=1)
def _request_shape() -> Any:
    """ConverseStreamRequest from botocore's bedrock-runtime service model: the schema
    the Converse API publishes (modelId travels in the URL)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock-runtime").operation_model("ConverseStream").input_shape


def _shape_problem(value: Any, shape: Any, where: str) -> str | None:
    """Unknown members, and unions that do not set exactly one member, against botocore's shape."""
    kind = shape.type_name
    expected = {"structure": dict, "list": list, "map": dict}.get(kind)
    if expected is not None and not getattr(shape, "is_document_type", False) and not isinstance(value, expected):
        what = "a list" if expected is list else "an object"
        return f"1 validation error detected: Value at '{where}' failed to satisfy constraint: Member must be {what}"
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return None
        members = shape.members
        if shape.metadata.get("union") and (len(value) != 1 or next(iter(value)) not in members):
            return f"The content block at {where} must set exactly one of {sorted(members)}; got {sorted(value)}."
        for key, item in value.items():
            if key not in members:
                return (f"Malformed input request: #/{where.replace('.', '/')}: extraneous key [{key}] is not "
                        "permitted, please reformat your input and try again.")
            problem = _shape_problem(item, members[key], f"{where}.{key}")
            if problem:
                return problem
    elif kind == "list":
        for index, item in enumerate(value):
            problem = _shape_problem(item, shape.member, f"{where}.{index + 1}.member")
            if problem:
                return problem
    elif kind == "map":
        for key, item in value.items():
            problem = _shape_problem(item, shape.value, f"{where}.{key}")
            if problem:
                return problem
    return None


def _request_schema(request: ProviderRequest) -> str | None:
    body = api.body_of(request)
    members = _request_shape().members
    for key in body:
        if key not in members or key == "modelId":
            return (f"Malformed input request: #: extraneous key [{key}] is not permitted, please reformat your "
                    "input and try again.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return (f"1 validation error detected: Value at 'messages.{i + 1}.member.role' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [user, assistant]")
    for key, value in body.items():
        problem = _shape_problem(value, members[key], key)
        if problem:
            return problem
    return None


def _model_fields(request: ProviderRequest) -> str | None:
    extra = api.body_of(request).get("additionalModelRequestFields")
    if isinstance(extra, dict):
        for key in extra:
            if key not in MODEL_FIELDS:
                return f"{key}: Extra inputs are not permitted"
        for key in ("thinking", "output_config"):
            if key in extra:
                problem = extra_inputs(extra[key], api.NESTED[key], key)
                if problem:
                    return problem
    return None


def _documents_need_text(request: ProviderRequest) -> str | None:
    for message in api.body_of(request).get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or message.get("role") != "user":
            continue
        has_document = any(isinstance(b, dict) and "document" in b for b in content)
        has_text = any(isinstance(b, dict) and str(b.get("text", "")).strip() for b in content)
        if has_document and not has_text:
            return "A text block must be included when using documents. Add a text block and retry your request."
    return None


def _tool_results(request: ProviderRequest) -> str | None:
    messages = [m for m in api.body_of(request).get("messages") or [] if isinstance(m, dict)]
    for i, message in enumerate(messages):
        if message.get("role") != "assistant" or i + 1 >= len(messages):
            continue
        uses = [b["toolUse"].get("toolUseId") for b in message.get("content") or []
                if isinstance(b, dict) and isinstance(b.get("toolUse"), dict)]
        answered = {b["toolResult"].get("toolUseId") for b in messages[i + 1].get("content") or []
                    if isinstance(b, dict) and isinstance(b.get("toolResult"), dict)}
        missing = [u for u in uses if u not in answered]
        if missing:
            return f"Expected toolResult blocks at messages.{i + 1}.content for the following Ids: {', '.join(map(str, missing))}"
    return None


def _reasoning_blocks(request: ProviderRequest):  # type: ignore[no-untyped-def]
    for i, message in enumerate(api.body_of(request).get("messages") or []):
        for j, block in enumerate(message.get("content") or [] if isinstance(message, dict) else []):
            text = (block.get("reasoningContent") or {}).get("reasoningText") if isinstance(block, dict) else None
            if isinstance(text, dict):
                yield f"messages.{i}.content.{j}", str(text.get("text", "")), str(text.get("signature", ""))


CONTRACT: tuple[Rule, ...] = (
    Rule("bedrock_converse.request-schema",
         "the request follows ConverseStreamRequest (botocore's bedrock-runtime model): known members only, "
         "content blocks set exactly one member",
         (CONVERSE_DOC, "https://github.com/boto/botocore/tree/develop/botocore/data/bedrock-runtime"),
         _request_schema, CONVERSE_ROUTE),
    Rule("bedrock_converse.model-fields",
         "additionalModelRequestFields reach the model's own validator: unknown keys are rejected",
         ("https://github.com/BerriAI/litellm/issues/15637", "https://github.com/BerriAI/litellm/issues/13825"),
         _model_fields, CONVERSE_ROUTE, model_error=True),
    Rule("bedrock_converse.beta-flags", "anthropic_beta values Bedrock does not take: 'invalid beta flag'",
         BETA_EVIDENCE, lambda r: rejected_betas(r.body_betas("additionalModelRequestFields", "anthropic_beta")),
         CONVERSE_ROUTE, model_error=True),
    Rule("bedrock_converse.unknown-beta-flags", "anthropic_beta values not known to be accepted", BETA_EVIDENCE,
         lambda r: unknown_betas(r.body_betas("additionalModelRequestFields", "anthropic_beta")), CONVERSE_ROUTE,
         model_error=True, confidence="reported", action="warn"),
    Rule("bedrock_converse.documents-need-text", "a user turn with a document must hold a text block",
         ("https://github.com/BerriAI/litellm/pull/36499", "https://github.com/maximhq/bifrost/pull/5817"),
         _documents_need_text, CONVERSE_ROUTE),
    Rule("bedrock_converse.tool-results", "every toolUse is answered by a toolResult in the next user message",
         ("https://github.com/HolmesGPT/holmesgpt/issues/127",
          "https://github.com/genkit-ai/aws-bedrock-js-plugin/issues/664"),
         _tool_results, CONVERSE_ROUTE),
    Rule("bedrock_converse.thinking-signature", "reasoning echoed back with any change is rejected",
         ("https://github.com/anthropics/anthropic-sdk-python/issues/1598",
          "https://github.com/anomalyco/opencode/issues/15074"),
         lambda r: api.signature_problem(_reasoning_blocks(r)), CONVERSE_ROUTE, model_error=True),
    Rule("bedrock_converse.prompt-too-long", "input beyond the context window (1M native from the 4.6 generation)",
         ("https://github.com/anomalyco/models.dev/pull/1221",),
         lambda r: api.too_long(native_1m(r))(r), CONVERSE_ROUTE, model_error=True),
)


class BedrockConverse(Bedrock):
    id = "bedrock_converse"
    name = "Bedrock Converse"
    label = "Converse"
    litellm_modules = (
        "litellm/llms/anthropic/experimental_pass_through/adapters/transformation.py",
        "litellm/llms/bedrock/chat/converse_transformation.py",
    )
    dialect = CONVERSE
    litellm_prefix = "bedrock/converse/"
    alias_suffix = "-bedrock-converse"
    beta_fields = ("body.additionalModelRequestFields.anthropic_beta",)
    contract = CONTRACT
    native_reference = "bedrock_invoke"  # Claude Code has no Converse mode; mapped in verdict/native.py

    def decode_response(self, path: str, content_type: str, data: bytes) -> AssistantMessage:
        if content_type.startswith("application/vnd.amazon.eventstream"):
            return from_converse_stream(data)
        if content_type.startswith("text/event-stream"):
            return from_sse(data)
        body = json.loads(data or b"{}")
        # count_tokens goes to the Anthropic-shaped routes; only /converse answers in Converse JSON
        return from_converse_json(body) if path.rstrip("/").endswith("/converse") else from_anthropic_json(body)


PROVIDER = BedrockConverse()
