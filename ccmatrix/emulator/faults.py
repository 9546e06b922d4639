"""Faults on purpose: the provider's own failure for the first attempts of a request.

A request whose conversation carries a fault directive (ccmatrix/catalog/faults.py)
fails on its first `failed_attempts` attempts, counted by the server per request body
(`EmulatedRequest.attempt`), then is answered as any other. What the failure looks like
is the provider's (`Provider.fault_answer`, `Provider.stream_fault_event`); where in a
stream it breaks is decided here, the framing by each encoder (`break_stream`'s `frame`).
"""

from __future__ import annotations

from typing import Callable

from ccmatrix.catalog.faults import FAULT_HEADER, FIRST_DELTA, Fault
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse
from ccmatrix.emulator.plan import Conversation
from ccmatrix.providers import Provider

__all__ = ["break_at", "break_stream", "failing", "status_fault"]


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


def break_stream(response: EmulatedResponse, provider: Provider, fault: Fault | None, event_kinds: list[str],
                 frame: Callable[[dict], bytes]) -> EmulatedResponse:
    """A streamed `response` as a stream fault breaks it (else as it is): its events up to
    `break_at`, then the provider's in-stream error (`frame` writes it in the stream's
    own framing) and the end, or, for a cut, a connection closed there (`cut_after`), or,
    for a stall, a connection that goes quiet there (`stall_after`)."""
    if fault is None or not fault.native.in_stream:
        return response
    kept = break_at(event_kinds)
    headers = {**response.headers, FAULT_HEADER: fault.kind}
    if fault.kind == "stream_cut":
        return EmulatedResponse(response.status, headers, response.chunks[:kept], cut_after=kept)
    if fault.kind == "stream_stall":
        return EmulatedResponse(response.status, headers, response.chunks[:kept], stall_after=kept)
    error = provider.stream_fault_event()
    if error is None:
        return response
    return EmulatedResponse(response.status, headers, response.chunks[:kept] + [frame(error)])


def break_at(event_kinds: list[str]) -> int:
    """How many of a stream's events go out before a stream fault: up to and including
    the first content delta."""
    for n, kind in enumerate(event_kinds):
        if kind in FIRST_DELTA:
            return n + 1
    return 1
