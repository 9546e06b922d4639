"""The control channel's models, in one import: what is now control.py (the driver's
messages), exchanges.py (what a cell caused, judged by the verdict) and mode.py (the
upstream). Kept so existing imports keep working; new code imports from those modules."""

from __future__ import annotations

from ccmatrix.recorder.control import CONTROL_HOST, BeginCell, Chunking, ErrorReply, Health, Ok
from ccmatrix.recorder.exchanges import (
    CellEnd,
    ClientLegExchange,
    ContractNote,
    Exchange,
    FailedExchange,
    RecordedExchange,
    RefusedExchange,
    ReplayedExchange,
)
from ccmatrix.recorder.mode import UPSTREAMS, Upstream

__all__ = [
    "CONTROL_HOST", "UPSTREAMS", "BeginCell", "CellEnd", "Chunking", "ClientLegExchange", "ContractNote", "ErrorReply",
    "Exchange", "FailedExchange", "Health", "Ok", "RecordedExchange", "RefusedExchange", "ReplayedExchange", "Upstream",
]
