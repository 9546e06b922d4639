"""Deterministic identifiers and numbers derived from a request's seed, in each
provider's own id shapes (the real captures in shared/reference show them).

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


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _alphabet(seed: str, label: str, alphabet: str, length: int) -> str:
    value = int.from_bytes(digest(seed, label) + digest(seed, label + "+"), "big")
    out = []
    for _ in range(length):
        value, rest = divmod(value, len(alphabet))
        out.append(alphabet[rest])
    return "".join(out)


def bedrock_message_id(seed: str) -> str:
    """InvokeModel's message ids: msg_bdrk_ + 52 lowercase base32 characters."""
    return "msg_bdrk_" + _alphabet(seed, "msg_bdrk_", _BASE32, 52)


def converse_tool_id(seed: str) -> str:
    """Converse's tool ids: tooluse_ + 22 base64url characters."""
    return "tooluse_" + _alphabet(seed, "tooluse_", _BASE64URL, 22)


def request_id(seed: str, prefix: str = "req_") -> str:
    """Anthropic request ids: req_011C + 20 base58 characters (Vertex: req_vrtx_011C...)."""
    return f"{prefix}011C{base58(digest(seed, prefix + 'request'), 20)}"


def padding(seed: str, label: str, low: int = 2, high: int = 61) -> str:
    """Bedrock's `p` field: a prefix of a-zA-Z0-9 of varying length."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return alphabet[: number(seed, "p:" + label, low, min(high, len(alphabet)))]


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def openai_completion_id(seed: str) -> str:
    """Chat Completions ids: chatcmpl- + 29 letters and digits (the captures'
    chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl)."""
    return "chatcmpl-" + _alphabet(seed, "chatcmpl-", _ALNUM, 29)


def openai_call_id(seed: str) -> str:
    """A tool call's id: call_ + 24 letters and digits (call_ZR5UUuTt3pf61kjwAJIYdVMj)."""
    return "call_" + _alphabet(seed, "call_", _ALNUM, 24)


def openai_created(seed: str) -> int:
    """`created` (Unix seconds): a fixed day in 2026 plus a second of it from the seed, so
    the same request is answered with the same bytes."""
    return 1_782_950_400 + number(seed, "created", 0, 86_399)


def openai_fingerprint(seed: str) -> str:
    """system_fingerprint: fp_ + 10 hex digits (fp_d0469e1700)."""
    return "fp_" + digest(seed, "fingerprint").hex()[:10]


def openai_obfuscation(seed: str, label: str) -> str:
    """A stream chunk's `obfuscation`: 3 to 15 random letters and digits ("C63r", "qfQVOwfh62oUst")."""
    return _alphabet(seed, "obfuscation:" + label, _ALNUM, number(seed, "obfuscation-length:" + label, 3, 15))
