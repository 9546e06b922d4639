"""Faults on purpose: the provider's own failure for the first attempts of a request.

A request whose conversation carries a fault directive (ccmatrix/catalog/faults.py)
fails on its first `failed_attempts` attempts, counted by the server per request body
(`EmulatedRequest.attempt`), then is answered as any other. What the failure looks like
is the provider's (`Provider.fault_answer`, `Provider.stream_fault_event`); where in a
stream it breaks is decided here, the framing by each encoder.
"""

from __future__ import annotations

from ccmatrix.catalog.faults import FAULT_HEADER, FIRST_DELTA, Fault
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse
from ccmatrix.emulator.plan import Conversation
from ccmatrix.providers import Provider

__all__ = ["break_at", "broken", "failing", "status_fault", "stream_fault"]


def failing(conversation: Conversation, req: EmulatedRequest) -> Fault | None:
    """The fault this attempt of the request meets, or None."""
    fault = Fault.from_directive(conversation.directive)
    return fault if fault is not None and req.attempt < fault.failed_attempts else None


def status_fault(provider: Provider, fault: Fault | None, req: EmulatedRequest) -> EmulatedResponse | None:
    """The provider's error answer for a fault that fails the request outright."""
    if fault is None or fault.native.in_stream:
        return None
    answer = provider.fault_answer(fault.kind, req.seed)
    if answer is None:
        return None
    status, headers, body = answer
    return EmulatedResponse(status, {**headers, FAULT_HEADER: fault.kind}, [body])


def stream_fault(provider: Provider, fault: Fault | None, stream: bool) -> dict | None:
    """How a streamed answer breaks (at `break_at`), or None: {"error": the provider's
    in-stream error} or {"cut": True} (the connection closes, no error sent). A request
    that does not stream has no stream to break."""
    if fault is None or not fault.native.in_stream or not stream:
        return None
    if fault.kind == "stream_cut":
        return {"cut": True}
    error = provider.stream_fault_event()
    return {"error": error} if error is not None else None


def broken(response: EmulatedResponse, kept: int, error_chunk: bytes | None, kind: str) -> EmulatedResponse:
    """`response` broken after its first `kept` chunks: an error chunk and the end, or a
    connection closed where the stream stood (the server's `cut_after`)."""
    headers = {**response.headers, FAULT_HEADER: kind}
    if error_chunk is None:
        return EmulatedResponse(response.status, headers, response.chunks[:kept], cut_after=kept)
    return EmulatedResponse(response.status, headers, response.chunks[:kept] + [error_chunk])


def break_at(event_kinds: list[str]) -> int:
    """How many of a stream's events go out before a stream fault: up to and including
    the first content delta."""
    for n, kind in enumerate(event_kinds):
        if kind in FIRST_DELTA:
            return n + 1
    return 1
