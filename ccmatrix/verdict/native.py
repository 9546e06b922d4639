"""LiteLLM's upstream request held to Claude Code's own request to the same provider.

A cassette expects what the recording release of LiteLLM sent, so a field that release
already dropped is never missed: the oracle is LiteLLM itself. The native reference
is an expectation that does not come from LiteLLM: what Claude Code sends when it
talks to the provider itself (ccmatrix/run/native.py captures it), Anthropic's own
transform of the same conversation for that provider.

What is compared: the first request of the conversation on the tier's model, in each
of the native reference, the client leg (what Claude Code sent LiteLLM) and LiteLLM's
upstream traffic, as flat field views (field_diff.request_view) with beta flags read
wherever they sit (`beta.<flag>`: a header or a body list, per provider) and tools
keyed by name. A field is *expected* when Claude Code sends it both ways, natively and
to LiteLLM, with one value: what it sends only natively (a beta it sends Bedrock
itself but not a gateway) is no loss of LiteLLM's.

- An expected field the catalog names as load-bearing for the row that LiteLLM's
  request lacks or changed is red ("Claude Code sends X natively; LiteLLM sent Y"),
  even when the request matches its recording.
- A difference declared harmless for the provider (`Provider.native_harmless`, with
  the reason and its evidence) is neither.
- Any other expected beta or thinking, effort or context-management field LiteLLM
  lost is a `native-divergence` finding; one LiteLLM sends that Claude Code does not
  send the provider natively is a `native-extra` finding (info).

Which reference a provider has is its `native_reference` (ccmatrix/providers/): its
own capture (Bedrock Invoke, Vertex AI, Foundry), the client leg itself (the
first-party API), or Bedrock Invoke's capture mapped field by field (Converse: no
native mode; CONVERSE_FIELDS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import unquote

from ccmatrix import catalog
from ccmatrix.cassette.field_diff import compare, matches, request_view, same_value, short
from ccmatrix.cassette.models import RecordedRequest
from ccmatrix.providers import CONVERSE
from ccmatrix.verdict.results import Failure, Finding

__all__ = ["CONVERSE_FIELDS", "NativeJudgement", "judge_native", "main_request", "reference_of"]

_BETA = re.compile(r"^(?:headers\.anthropic-beta|body\.anthropic_beta|body\.additionalModelRequestFields\.anthropic_beta)"
                   r"\.(.+)$")
# the small fields a divergence in is reported even when the row does not name them
TRAITS = ("beta", "body.thinking", "body.output_config", "body.context_management")
# Converse's counterparts of Messages fields (LiteLLM's mapping, and Bedrock's Converse
# API: `additionalModelRequestFields` is passed to the model as Messages fields). Cache
# points have no field-by-field counterpart (a `cachePoint` block after the cached
# block, not an attribute on it): not compared.
CONVERSE_FIELDS = {
    "body.additionalModelRequestFields.thinking": "body.thinking",
    "body.additionalModelRequestFields.output_config": "body.output_config",
    "body.additionalModelRequestFields.context_management": "body.context_management",
    "body.toolConfig": "body.tools",
}



@dataclass
class NativeJudgement:
    failures: list[Failure]  # native-lost: a load-bearing field, named (`field`)
    findings: list[Finding]  # native-divergence, native-extra


def _messages_name(path: str) -> str:
    """A Converse field path under its Messages name (CONVERSE_FIELDS); others unchanged."""
    for converse_path, messages_path in CONVERSE_FIELDS.items():
        if path == converse_path or path.startswith(converse_path + "."):
            return messages_path + path[len(converse_path):]
    return path


# the tool LiteLLM adds on Converse to carry a structured output (output_config.format)
LITELLM_FORMAT_TOOL = "json_tool_call"


def main_request(requests: Iterable[RecordedRequest], model: str) -> RecordedRequest | None:
    """The first request of the conversation on `model`: a Messages (or Converse) call
    that names the model in its URL or body, asks for more than one token (Claude Code's
    one-token quota checks are not the conversation) and offers tools (2.1.126's
    session-title request, on Haiku's model too, offers none; 2.1.228's, on the cell's own
    model, offers none either, but LiteLLM gives it one on Converse: `json_tool_call`, its
    stand-in for `output_config.format`, which is no tool of Claude Code's); without such a
    request, the first of the others."""
    found = []
    for request in requests:
        body = request.body.value() if request.body is not None else None
        if not isinstance(body, dict) or "count_tokens" in request.url or "count-tokens" in request.url:
            continue
        names_model = model in unquote(request.url) or body.get("model") == model
        max_tokens = body.get("max_tokens", (body.get("inferenceConfig") or {}).get("maxTokens"))
        if names_model and isinstance(max_tokens, int) and max_tokens > 1 and ("messages" in body):
            tools = body.get("tools") or (body.get("toolConfig") or {}).get("tools") or []
            if {_tool_name(t.get("toolSpec") or t) for t in tools if isinstance(t, dict)} - {LITELLM_FORMAT_TOOL}:
                return request
            found.append(request)
    return found[0] if found else None


def view(request: RecordedRequest, converse: bool = False) -> dict[str, Any]:
    """The comparison's view of a request: flat fields, beta flags as `beta.<flag>`, tools
    keyed by name (`body.tools.<name>...`); with `converse`, Converse's fields under their
    Messages names and tools by name only (CONVERSE_FIELDS)."""
    body = request.body.value() if request.body is not None else None
    if isinstance(body, dict):
        body = dict(body)
        if isinstance(body.get("tools"), list):
            body["tools"] = {_tool_name(t): t for t in body["tools"]}
        config = body.get("toolConfig")
        if isinstance(config, dict) and isinstance(config.get("tools"), list):
            body["toolConfig"] = {_tool_name(t.get("toolSpec") or t): True for t in config["tools"] if isinstance(t, dict)}
    out: dict[str, Any] = {}
    for path, value in request_view(request.method, request.url, request.headers, body).items():
        if (beta := _BETA.match(path)) is not None:
            out[f"beta.{beta[1]}"] = True
            continue
        path = _messages_name(path)
        if converse and path.startswith("body.tools."):
            path, value = ".".join(path.split(".")[:3]), True  # a tool's presence, by name
        out[path] = value
    return out


def _tool_name(tool: Any) -> str:
    if not isinstance(tool, dict):
        return "?"
    return str(tool.get("name") or tool.get("type") or "?").replace(".", "_")


def load_bearing(cell: catalog.CellTier) -> list[str]:
    """The row's own load-bearing fields for the provider (not the provider's base
    fields: the model and version differ natively by design), in this view's names."""
    provider = cell.provider
    base = set(provider.base_fields)
    patterns = []
    for path in cell.feature.load_bearing(provider):
        if path in base:
            continue
        if (beta := _BETA.match(path)) is not None:
            patterns.append(f"beta.{beta[1]}")
            continue
        patterns.append(_messages_name(path).replace("body.tools[*]", "body.tools.*"))
    return patterns


def reference_of(cell: catalog.CellTier, native: list[RecordedRequest] | None,
                 client: list[RecordedRequest]) -> tuple[list[RecordedRequest], str] | None:
    """The cell tier's reference requests and the model they are on: the client leg for
    the first-party API, else the native capture given (its provider's, for Converse)."""
    source = cell.provider.native_reference
    if source == "none":  # Claude Code has no native mode for the provider (the GPT-5.6 columns)
        return None
    if source == "client":
        return client, cell.proxy_model
    if native is None:
        return None
    provider = cell.provider if source == "capture" else catalog.provider(source)
    return native, provider.model_ids[cell.tier.id]


def judge_native(cell: catalog.CellTier, native: list[RecordedRequest] | None, client: list[RecordedRequest],
                 sent: list[RecordedRequest]) -> NativeJudgement | None:
    """LiteLLM's request (`sent`) held to the native one (`native`: the capture's
    requests, see reference_of); None when there is no reference, or a side has no
    conversation request on the tier's model (nothing to compare)."""
    converse = cell.provider.dialect is CONVERSE
    found = reference_of(cell, native, client)
    if found is None:
        return None
    reference = main_request(found[0], found[1])
    asked = main_request(client, cell.proxy_model)
    upstream = main_request(sent, cell.model_id)
    if reference is None or asked is None or upstream is None:
        return None
    native_view, client_view, sent_view = view(reference, converse), view(asked, converse), view(upstream, converse)
    # expected: what Claude Code sends both ways, with one value
    expected = {p: v for p, v in native_view.items() if p in client_view and same_value(client_view[p], v)}
    harmless = [h.pattern for h in cell.provider.native_harmless if h.when(expected)]
    patterns = load_bearing(cell)
    diffs = [d for d in compare(expected, sent_view, patterns) if d.kind != "added"]
    failures: list[Failure] = []
    findings: list[Finding] = []
    for d in diffs:
        if any(matches(d.path, [p]) for p in harmless):
            continue
        told = (f"Claude Code sends {d.path}={short(d.recorded)} natively to {cell.provider.name}; "
                f"LiteLLM sent {short(d.observed) if d.kind == 'changed' else 'none'}")
        if d.load_bearing:
            failures.append(Failure(kind="native-lost", message=told, field=d.path))
        elif matches(d.path, TRAITS):
            findings.append(Finding(kind="native-divergence", severity="warning", message=told))
    for path in sorted(p for p in sent_view if p not in native_view and matches(p, TRAITS) and p in client_view):
        findings.append(Finding(kind="native-extra", severity="info", message=(
            f"LiteLLM sent {path}={short(sent_view[path])}, which Claude Code does not send {cell.provider.name} "
            "natively")))
    return NativeJudgement(failures, findings)
