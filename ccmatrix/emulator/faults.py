"""Faults on purpose: the provider's own failure for the first attempts of a request.

A request whose conversation carries a fault directive (ccmatrix/catalog/faults.py)
fails on its first `failed_attempts` attempts, counted by the server per request body
(`EmulatedRequest.attempt`), then is answered as any other. What the failure looks like
is the provider's (`Provider.fault_answer`, `Provider.stream_fault_event`); where in a
stream it breaks is decided here, the framing by each encoder.
"""

from __future__ import annotations

from ccmatrix.catalog.faults import FIRST_DELTA, Fault
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse
from ccmatrix.emulator.plan import Conversation
from ccmatrix.providers import Provider

__all__ = ["break_at", "failing", "status_fault", "stream_fault"]


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
    return EmulatedResponse(status, headers, [body])


def stream_fault(provider: Provider, fault: Fault | None, stream: bool) -> dict | None:
    """The in-stream error to break a streamed answer with (at `break_at`), or None. A request that does not stream has no stream to break."""
    if fault is None or not fault.native.in_stream or not stream:
        return None
    return provider.stream_fault_event()


def break_at(event_kinds: list[str]) -> int:
    """How many of a stream's events go out before a stream fault: up to and including
    the first content delta."""
    for n, kind in enumerate(event_kinds):
        if kind in FIRST_DELTA:
            return n + 1
    return 1
