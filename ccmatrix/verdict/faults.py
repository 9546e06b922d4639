"""A fault row's verdict: what Claude Code got from LiteLLM when the provider failed,
held to what the native Anthropic API gives it for the same fault.

The emulated provider fails the row's first attempts (ccmatrix/catalog/faults.py) in its
own way (429 ThrottlingException, RESOURCE_EXHAUSTED, an exception frame...). LiteLLM
must turn that into an answer Claude Code treats as it treats the native one:

- a status fault (rate limit, overload): an answer the Anthropic SDK retries exactly when
  it retries the native one (`sdk_retries`), and the provider's retry-after carried over
  (Claude Code waits at least that long: code.claude.com/docs/en/llm-gateway). Another
  status or error type that Claude Code still retries is a finding, not a failure;
- a stream fault: the client's stream fails as the native one does (an `event: error`,
  or a retryable status before the stream), never a stream that ends with message_stop
  on a truncated answer (a success Claude Code would keep);
- and the conversation then finishes (the row's criteria), within the row's bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from ccmatrix import catalog
from ccmatrix.cassette import RecordedResponse
from ccmatrix.catalog.faults import FAULT_HEADER, Fault, sdk_retries
from ccmatrix.client.driver import main_turn
from ccmatrix.recorder.exchanges import ClientLegExchange
from ccmatrix.verdict.results import Failure, Finding
from ccmatrix.wire.messages import from_sse

__all__ = ["FaultAnswer", "fault_answers", "judge_fault", "provider_failed"]

GATEWAY_EVIDENCE = "https://code.claude.com/docs/en/llm-gateway"
ERRORS_EVIDENCE = "https://docs.claude.com/en/api/errors"


@dataclass(frozen=True)
class FaultAnswer:
    """One of LiteLLM's answers to Claude Code's own turn that is not a clean success."""

    turn: int
    status: int
    error_type: str | None
    retry_after: str | None
    retried: bool  # the SDK retries it (status answers) / the stream failed visibly (200 answers)
    gave_up: bool = False  # a stream that went quiet until the client gave up on it

    def describe(self) -> str:
        if self.status != 200:
            return f"{self.status} {self.error_type or '(no error type)'}"
        if self.error_type:
            return f"a 200 stream with an `event: error` {self.error_type}"
        return "a 200 stream that went quiet until Claude Code gave up on it" if self.gave_up else \
            "a 200 stream cut without an error event"


def _headers(response: RecordedResponse) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _retry_after(headers: dict[str, str]) -> str | None:
    return headers.get("retry-after-ms") or headers.get("retry-after")


def _error_type(response: RecordedResponse) -> str | None:
    try:
        body = json.loads(response.content() or b"{}")
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("type") if isinstance(error, dict) else None


def fault_answers(client: list[ClientLegExchange], model: str) -> tuple[list[FaultAnswer], int]:
    """LiteLLM's faulty answers to Claude Code's own turns, and how many of its own turns got a clean one."""
    faulty, clean = [], 0
    for n, ex in enumerate(client):
        body = ex.request.body.value() if ex.request.body is not None else None
        if not urlsplit(ex.request.url).path.endswith("/v1/messages") or not main_turn(body, model):
            continue
        response = ex.response
        if response is None:
            faulty.append(FaultAnswer(n, 0, "connection failed", None, retried=True))
            continue
        headers = _headers(response)
        if response.status != 200:
            faulty.append(FaultAnswer(n, response.status, _error_type(response), _retry_after(headers),
                                      retried=sdk_retries(response.status, headers)))
            continue
        if not headers.get("content-type", "").startswith("text/event-stream"):
            clean += 1
            continue
        message = from_sse(response.content())
        if message.stream_error is not None:
            faulty.append(FaultAnswer(n, 200, message.stream_error.get("type"), None, retried=True))
        elif not message.stopped:
            faulty.append(FaultAnswer(n, 200, None, None, retried=True, gave_up=ex.error is not None))
        else:
            clean += 1
    return faulty, clean


def _provider_retry_after(upstream: list[RecordedResponse]) -> str | None:
    return next((after for r in upstream if r.status >= 400 and (after := _retry_after(_headers(r)))), None)


def provider_failed(response: RecordedResponse) -> bool:
    """An answer the emulator failed on purpose (it marks each one: FAULT_HEADER)."""
    return FAULT_HEADER in _headers(response)


def judge_fault(fault: Fault, cell: catalog.CellTier, client: list[ClientLegExchange],
                upstream: list[RecordedResponse]) -> tuple[list[Failure], list[Finding], set[int]]:
    """(failures, findings, the client-leg turns that carried the fault) for one tier of a fault row."""
    native = fault.native
    failures: list[Failure] = []
    findings: list[Finding] = []
    provider_failures = [r for r in upstream if provider_failed(r)]
    faulty, clean = fault_answers(client, cell.proxy_model)
    evidence = [ERRORS_EVIDENCE]
    if not provider_failures:
        findings.append(Finding(kind="fault-not-reached", severity="warning", message=(
            f"the provider was asked to fail ({fault.kind}) but no upstream answer failed: the proxy answered "
            "every turn itself, or the recording predates the fault")))
    hidden = len(provider_failures) - len(faulty)
    if hidden > 0:
        if len(faulty) + clean >= len(upstream):
            # one client answer per upstream answer: a provider failure reached Claude Code as a success
            what = ("stream(s) mid-way, and LiteLLM ended the stream to Claude Code with message_stop: a "
                    "truncated answer taken as complete") if native.in_stream else \
                "attempt(s), and LiteLLM answered Claude Code with a success"
            failures.append(_failure(f"the provider failed {hidden} {what}"))
        else:
            findings.append(Finding(kind="fault-absorbed", severity="info", message=(
                f"the provider failed {len(provider_failures)} attempt(s) ({fault.kind}); LiteLLM retried upstream "
                f"itself and Claude Code saw {len(faulty)} failure(s)")))
    retry_after = _provider_retry_after(upstream)
    for answer in faulty:
        where = f"LiteLLM answered {answer.describe()}"  # no turn number: recordings and replays count turns differently
        if not answer.retried:
            failures.append(_failure(f"{where}: Claude Code does not retry it, but it retries the native answer "
                                     f"({_native(fault)})", ERRORS_EVIDENCE))
            continue
        if not native.in_stream and retry_after is not None and not answer.retry_after:
            failures.append(_failure(f"{where} without the provider's retry-after ({retry_after}): Claude Code "
                                     "retries on its own backoff instead of when the provider said", GATEWAY_EVIDENCE))
        if (answer.status, answer.error_type) != (native.status or 200, native.error_type):
            findings.append(Finding(kind="fault-mapping", severity="warning",
                                    evidence=evidence + ([GATEWAY_EVIDENCE] if retry_after else []), message=(
                f"{where} where the native API answers {_native(fault)}; Claude Code retries both, but reports "
                "them as different errors")))
    if not clean:
        failures.append(_failure(f"Claude Code got no clean answer after the provider's {fault.kind} cleared"))
    return failures, findings, {answer.turn for answer in faulty}


def _failure(message: str, *evidence: str) -> Failure:
    return Failure(kind="fault", message=message, evidence=list(evidence))


def _native(fault: Fault) -> str:
    native = fault.native
    if native.in_stream:
        if native.error_type:
            return f"a 200 stream with an `event: error` {native.error_type}"
        return "a 200 stream that goes quiet (Claude Code's watchdog ends it)" if native.goes_quiet else \
            "a 200 stream that ends without message_stop"
    return f"{native.status} {native.error_type}" + (" with retry-after" if native.retry_after else "")
