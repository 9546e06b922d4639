"""Deterministic identifiers and numbers derived from a request's seed.

The emulator must answer the same request with the same bytes (so recordings
made against it are stable and diffable), so nothing here reads the clock or a
random source: every value is a hash of the request body's sha256 and a label.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def digest(seed: str, label: str) -> bytes:
    return hashlib.sha256(f"{seed}:{label}".encode()).digest()


def number(seed: str, label: str, low: int, high: int) -> int:
    """An int in [low, high], e.g. a plausible latency."""
    return low + int.from_bytes(digest(seed, label)[:8], "big") % (high - low + 1)


def base58(data: bytes, length: int) -> str:
    value = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        value, rest = divmod(value, 58)
        out.append(_BASE58[rest])
    return "".join(out)


def anthropic_id(seed: str, prefix: str) -> str:
    """Shaped like Anthropic's ids: prefix + "01" + 22 base58 characters."""
    return f"{prefix}01{base58(digest(seed, prefix), 22)}"


def aws_request_id(seed: str) -> str:
    return str(uuid.UUID(bytes=digest(seed, "aws-request-id")[:16], version=4))


def signature(seed: str) -> str:
    """A thinking-block signature: opaque base64, like the real (longer) ones."""
    raw = b"".join(digest(seed, f"signature-{i}") for i in range(3))
    return base64.b64encode(raw).decode("ascii")


def token(seed: str, length: int = 32) -> str:
    return base58(digest(seed, "token"), length)
