"""OpenAI's Chat Completions API as OpenAI enforces it: the request's fields, the
rules a GPT-5-class (reasoning) model adds, and the error body every refusal comes in.

Shared by every column that serves GPT-5.6 through this API (OpenAI itself, Azure
OpenAI's deployments), as `messages_api` is by the Anthropic Messages columns. Each
rule names its evidence; docs/contracts.md lists them.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ccmatrix.providers.contract import ProviderRequest, Rule, Violation, both, model_matches

CHAT_COMPLETIONS_DOC = "https://platform.openai.com/docs/api-reference/chat/create"
REASONING_DOC = "https://platform.openai.com/docs/guides/reasoning"

# The request body's fields (the API reference's "Request body", deprecated ones included:
# OpenAI still takes them, it does not refuse them as unknown)
CHAT_COMPLETIONS_FIELDS = frozenset({
    "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "prompt_cache_key", "prompt_cache_retention", "reasoning_effort", "response_format",
    "safety_identifier", "seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature",
    "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
})
# GPT-5-class and o-series models reason before they answer: they take
# max_completion_tokens (not max_tokens) and only the default sampling settings
REASONING_MODEL = r"^(gpt-5|o\d)"


def reasons(model: str) -> bool:
    """A GPT-5-class or o-series model, under OpenAI's name or a host's (Bedrock's
    "openai.gpt-5.6-sol"): it reasons before it answers, and says so in its usage."""
    return bool(re.search(REASONING_MODEL, model.removeprefix("openai.")))
REASONING_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh"})
# a function's name (the API reference: "a-z, A-Z, 0-9, or contain underscores and
# dashes, with a maximum length of 64")
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def error_body(violation: Violation) -> dict[str, Any]:
    """The body OpenAI refuses a request with: {"error": {message, type, param, code}}
    (the shape every report below quotes; `param` and `code` null where OpenAI sends null)."""
    rule = violation.rule
    param, code = _PARAM_AND_CODE.get(rule.id.split(".", 1)[-1], (None, None))
    if callable(param):
        param = param(violation.message)
    return {"error": {"message": violation.message, "type": rule.error_type, "param": param, "code": code}}


def _first_unknown(request: ProviderRequest, known: frozenset[str]) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    return next((key for key in body if key not in known), None)


def unknown_fields(request: ProviderRequest) -> str | None:
    extra = _first_unknown(request, CHAT_COMPLETIONS_FIELDS)
    return f"Unrecognized request argument supplied: {extra}" if extra else None


def max_tokens_on_a_reasoning_model(request: ProviderRequest) -> str | None:
    if isinstance(request.body, dict) and "max_tokens" in request.body:
        return "Unsupported parameter: 'max_tokens' is not supported with this model. " \
               "Use 'max_completion_tokens' instead."
    return None


def sampling_on_a_reasoning_model(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and value != 1:
            return f"Unsupported value: '{name}' does not support {value} with this model. " \
                   "Only the default (1) value is supported."
    return None


def reasoning_effort_value(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    return _effort_problem(body.get("reasoning_effort"))


def _effort_problem(effort: object) -> str | None:
    if effort is None or effort in REASONING_EFFORTS:
        return None
    allowed = ", ".join(f"'{e}'" for e in sorted(REASONING_EFFORTS))
    return f"Invalid value: '{effort}'. Supported values are: {allowed}."


def tools_are_functions(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "Invalid type for 'tools': expected an array."
    for n, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") not in ("function", "custom"):
            return f"Missing required parameter: 'tools[{n}].function'."
        name = function.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            return f"Invalid 'tools[{n}].function.name': string does not match pattern. " \
                   "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
    return None


def tool_choice_needs_tools(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    if "tool_choice" in body and not body.get("tools"):
        return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
    return None


def tool_results_answer_calls(request: ProviderRequest) -> str | None:
    """Every `tool` message answers a tool call of the assistant message before it, and
    every tool call is answered before the next user or assistant message."""
    body = request.body if isinstance(request.body, dict) else {}
    open_calls: set[str] = set()
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                return "Invalid parameter: messages with role 'tool' must be a response to a preceeding " \
                       "message with 'tool_calls'."  # sic: OpenAI's spelling
            open_calls.discard(message.get("tool_call_id"))
            continue
        if open_calls:
            return "An assistant message with 'tool_calls' must be followed by tool messages responding to " \
                   f"each 'tool_call_id'. The following tool_call_ids did not have response messages: " \
                   f"{', '.join(sorted(open_calls))}"
        if role == "assistant":
            open_calls = {c.get("id") for c in message.get("tool_calls") or [] if isinstance(c, dict)}
    return None


def _first_quoted(message: str) -> str | None:
    match = re.search(r"'([^']+)'", message)
    return match.group(1) if match else None


# rule id (after the provider) -> the error's `param` and `code`, as OpenAI sends them
_PARAM_AND_CODE: dict[str, tuple[str | Callable[[str], str | None] | None, str | None]] = {
    "known-fields": (None, None),
    "max-completion-tokens": ("max_tokens", "unsupported_parameter"),
    "reasoning-sampling": (_first_quoted, "unsupported_value"),
    "reasoning-effort-values": ("reasoning_effort", "invalid_value"),
    "tools-are-functions": (_first_quoted, "invalid_value"),
    "tool-choice-needs-tools": ("tool_choice", None),
    # OpenAI names the message ("messages.[4].role"); the emulator names the list only
    "tool-results-answer-calls": ("messages", None),
}


def chat_completions_rules(provider: str, on_route: Callable[[ProviderRequest], bool]) -> tuple[Rule, ...]:
    """The Chat Completions contract on `on_route` (each deployment family's own path)."""
    reasoning_on_route = both(on_route, model_matches(REASONING_MODEL))
    return (
        Rule(f"{provider}.known-fields", "a field the API does not know is refused, naming it",
             (CHAT_COMPLETIONS_DOC, "https://github.com/coroot/coroot/issues/698",
              "https://github.com/nashsu/llm_wiki/issues/336"),
             unknown_fields, on_route),
        Rule(f"{provider}.max-completion-tokens",
             "a reasoning model takes max_completion_tokens; max_tokens is refused",
             (CHAT_COMPLETIONS_DOC + "#chat-create-max_tokens", REASONING_DOC),
             max_tokens_on_a_reasoning_model, reasoning_on_route),
        Rule(f"{provider}.reasoning-sampling",
             "a reasoning model takes only the default temperature and top_p (1)",
             (REASONING_DOC, "https://github.com/pydantic/pydantic-ai/blob/main/tests/models/test_openai.py"),
             sampling_on_a_reasoning_model, reasoning_on_route),
        Rule(f"{provider}.reasoning-effort-values", "reasoning_effort is one of the documented levels",
             (CHAT_COMPLETIONS_DOC + "#chat-create-reasoning_effort",),
             reasoning_effort_value, on_route),
        Rule(f"{provider}.tools-are-functions", "each tool is a function with a name of letters, digits, _ and -",
             (CHAT_COMPLETIONS_DOC + "#chat-create-tools",), tools_are_functions, on_route),
        Rule(f"{provider}.tool-choice-needs-tools", "tool_choice only with tools",
             (CHAT_COMPLETIONS_DOC + "#chat-create-tool_choice",), tool_choice_needs_tools, on_route),
        Rule(f"{provider}.tool-results-answer-calls",
             "every tool message answers a call of the assistant message before it, and every call is answered",
             ("https://platform.openai.com/docs/guides/function-calling", "https://github.com/smarter-sh/smarter/issues/264",
              "https://github.com/microsoft/promptflow/pull/3130"), tool_results_answer_calls, on_route),
    )


# ---------------------------------------------------------------- the Responses API
# What LiteLLM sends Claude Code's requests to for GPT-5.6 (docs/gpt-columns.md).

RESPONSES_DOC = "https://platform.openai.com/docs/api-reference/responses/create"
RESPONSES_FIELDS = frozenset({
    "background", "conversation", "include", "input", "instructions", "max_output_tokens", "max_tool_calls",
    "metadata", "model", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
    "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store", "stream", "stream_options",
    "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user",
})


def unknown_responses_fields(request: ProviderRequest) -> str | None:
    extra = _first_unknown(request, RESPONSES_FIELDS)
    return f"Unknown parameter: '{extra}'." if extra else None


def responses_effort_value(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    return _effort_problem(reasoning.get("effort"))


def responses_tools_are_named(request: ProviderRequest) -> str | None:
    body = request.body if isinstance(request.body, dict) else {}
    for n, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and tool.get("type") == "function":
            name = tool.get("name")
            if not isinstance(name, str) or not FUNCTION_NAME.match(name):
                return f"Invalid 'tools[{n}].name': string does not match pattern. " \
                       "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
    return None


def outputs_answer_calls(request: ProviderRequest) -> str | None:
    """A function_call_output answers a function_call of the same input (a request that
    continues a stored response, previous_response_id, may answer one of that response)."""
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("previous_response_id") or not isinstance(body.get("input"), list):
        return None
    calls = {i.get("call_id") for i in body["input"] if isinstance(i, dict) and i.get("type") == "function_call"}
    for item in body["input"]:
        if isinstance(item, dict) and item.get("type") == "function_call_output" and item.get("call_id") not in calls:
            return f"No tool call found for function call output with call_id {item.get('call_id')}."
    return None


_PARAM_AND_CODE.update({
    "responses-known-fields": (_first_quoted, "unknown_parameter"),
    "responses-reasoning-effort-values": ("reasoning.effort", "invalid_value"),
    "responses-tools-are-named": (_first_quoted, "invalid_value"),
    "function-call-outputs-answer-calls": ("input", None),
})


def responses_rules(provider: str, on_route: Callable[[ProviderRequest], bool]) -> tuple[Rule, ...]:
    """The Responses API contract on `on_route`."""
    reasoning_on_route = both(on_route, model_matches(REASONING_MODEL))
    return (
        Rule(f"{provider}.responses-known-fields", "a field the Responses API does not know is refused, naming it",
             (RESPONSES_DOC, "https://github.com/BerriAI/litellm/issues/13420",
              "https://github.com/teabranch/open-responses-server/issues/41"),
             unknown_responses_fields, on_route),
        Rule(f"{provider}.responses-reasoning-sampling",
             "a reasoning model takes only the default temperature and top_p (1)",
             (REASONING_DOC,), sampling_on_a_reasoning_model, reasoning_on_route),
        Rule(f"{provider}.responses-reasoning-effort-values", "reasoning.effort is one of the documented levels",
             (RESPONSES_DOC + "#responses-create-reasoning",), responses_effort_value, on_route),
        Rule(f"{provider}.responses-tools-are-named", "each function tool has a name of letters, digits, _ and -",
             (RESPONSES_DOC + "#responses-create-tools",), responses_tools_are_named, on_route),
        Rule(f"{provider}.function-call-outputs-answer-calls",
             "a function_call_output answers a function_call sent with it",
             ("https://platform.openai.com/docs/guides/function-calling",
              "https://github.com/continuedev/continue/issues/10092", "https://github.com/vercel/ai/issues/8216"),
             outputs_answer_calls, on_route),
    )
