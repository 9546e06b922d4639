"""Thinking-block signatures the emulator hands out, and checks when they come back.

A real provider rejects a thinking block echoed back with any change
("messages.N.content.M: Invalid `signature` in `thinking` block": the signature
covers the thinking text). The emulator's signatures do the same job: a MAC over
the thinking text with a content-derived nonce, so a proxy that alters echoed
thinking (a repeated fragment, a dropped delta) is caught exactly as the real API
would catch it. Signatures that are not the emulator's (a live recording's) cannot
be checked offline and are left alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_MARK = b"ccmx\x01"  # real signatures are protobuf-framed and never start with it
_KEY = b"ccmatrix emulator thinking signatures"


def sign(thinking: str, nonce_seed: str) -> str:
    nonce = hashlib.sha256(nonce_seed.encode()).digest()[:16]
    mac = hmac.new(_KEY, nonce + thinking.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(_MARK + nonce + mac).decode("ascii")


def verify(signature: str, thinking: str) -> bool | None:
    """True or False for an emulator signature; None for one the emulator did not make."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        return None
    if not raw.startswith(_MARK) or len(raw) != len(_MARK) + 16 + 32:
        return None
    nonce, mac = raw[len(_MARK):len(_MARK) + 16], raw[len(_MARK) + 16:]
    expected = hmac.new(_KEY, nonce + thinking.encode("utf-8"), hashlib.sha256).digest()
    return hmac.compare_digest(mac, expected)
