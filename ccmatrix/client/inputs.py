"""What a row gives the CLI besides its flags: files it reads and text on its stdin.

All of it is deterministic (the same bytes on every machine and day), so the CLI's
requests replay. The shapes follow the live harness (BerriAI/litellm,
`tests/e2e/claude_code/`): a one-page PDF whose only word is PONG, one stream-json
user event with an inline 1x1 PNG, and about 840,000 characters of filler text
(~210,000 tokens at four characters a token) that end by asking for one word.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

__all__ = ["LONG_CONTEXT_CHARS", "PDF_MARKER", "long_context_text", "marker_pdf", "png", "stdin_for", "vision_event"]

PDF_MARKER = "PONG"
LONG_CONTEXT_CHARS = 840_000
VISION_QUESTION = "What single color do you see in the attached image? Answer in one word."


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain RGB PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def marker_pdf(text: str = PDF_MARKER) -> bytes:
    """A single-page PDF 1.4: 200x200 points, `text` in 24 pt Helvetica at (50, 100),
    with a correct cross-reference table."""
    stream = f"BT /F1 24 Tf 50 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def vision_event() -> str:
    """One stream-json user event: the question and a 1x1 red PNG, inline."""
    image = base64.b64encode(png(1, 1, (255, 0, 0))).decode("ascii")
    message = {"role": "user", "content": [
        {"type": "text", "text": VISION_QUESTION},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": image}},
    ]}
    return json.dumps({"type": "user", "message": message}, separators=(",", ":")) + "\n"


_FILLER = (
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "How vexingly quick daft zebras jump.",
    "Sphinx of black quartz, judge my vow.",
    "The five boxing wizards jump quickly.",
    "Jackdaws love my big sphinx of quartz.",
    "Bright vixens jump; dozy fowl quack.",
    "Waltz, bad nymph, for quick jigs vex.",
)


def long_context_text(chars: int = LONG_CONTEXT_CHARS) -> str:
    """About `chars` characters: a preamble, rotating pangrams, a closing request."""
    head = "I'm going to share an excerpt from a long document. Read it, then answer the question at the end.\n\nBegin excerpt:\n"
    tail = "\nEnd of excerpt. Please reply with the single word 'ok'."
    body: list[str] = []
    size = len(head) + len(tail)
    n = 0
    while size < chars:
        sentence = f"{_FILLER[n % len(_FILLER)]} "
        body.append(sentence)
        size += len(sentence)
        n += 1
    return head + "".join(body) + tail


def stdin_for(name: str | None) -> str | None:
    """What a row's CliRun.stdin names."""
    if name is None:
        return None
    if name == "vision":
        return vision_event()
    if name == "long_context":
        return long_context_text()
    raise ValueError(f"no stdin named {name!r}")


def write_files(directory: Path) -> dict[str, str]:
    """The files prompts may name, made in `directory`: placeholder -> absolute path."""
    directory.mkdir(parents=True, exist_ok=True)
    pdf = directory / "marker.pdf"
    pdf.write_bytes(marker_pdf())
    return {"pdf": str(pdf)}
