"""The LiteLLM release a cassette tree stands for: `<root>/recorded-with.json`.

A run with no `--litellm` replays against the release its cassettes were recorded
with (the bundled tree's is ccmatrix's default release): the recordings and the default
cannot drift apart. `ccmatrix record` writes it when it has recorded every published
cell tier of the release it ran (the nightly path: `record --litellm latest` moves
the default forward with the cassettes and names what changed).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ccmatrix.cassette.models import CassetteError
from ccmatrix.catalog import layout


class RecordedWith(BaseModel):
    litellm: str  # the LiteLLM release
    recorded_at: str
    # every Claude Code release's tree, when recorded last with it (release -> timestamp)
    claude_code: dict[str, str] = {}


def read(root: Path) -> RecordedWith | None:
    path = layout.recorded_with_path(root)
    if not path.exists():
        return None
    try:
        return RecordedWith.model_validate(json.loads(path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise CassetteError(f"{path}: not a recorded-with record ({str(exc).splitlines()[0]})") from None


def write(root: Path, litellm: str, claude_code: str) -> RecordedWith:
    """Record that `claude_code`'s tree under `root` was recorded with LiteLLM `litellm`."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    previous = read(root)
    trees = dict(previous.claude_code) if previous is not None and previous.litellm == litellm else {}
    record = RecordedWith(litellm=litellm, recorded_at=now, claude_code={**trees, claude_code: now})
    path = layout.recorded_with_path(root)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record.model_dump(), indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return record
