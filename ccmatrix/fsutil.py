"""Files and folders ccmatrix owns: atomic writes (a reader, the docs job or a replay,
never sees half a file), directories built exactly once, and the cache they live in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def cache_dir() -> Path:
    """Where ccmatrix keeps what it installs: LiteLLM environments, the Claude Code CLI,
    the mitmproxy CA, the wheelhouse. `CCMATRIX_CACHE` moves it."""
    base = os.environ.get("CCMATRIX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ccmatrix"
    )
    return Path(base)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def build_once(target: Path, complete: Callable[[], bool], build: Callable[[Path], None]) -> None:
    """Build a directory (a LiteLLM environment, an npm install) exactly once.

    One builder at a time (parallel test workers, CI jobs share the cache): the
    others wait on a lock, then find it complete. The build goes into a staging
    directory renamed into place, so an interrupted build never leaves a
    half-built directory that looks usable."""
    import fcntl
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete():
            return
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            build(staging)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def writable_dir(path: Path) -> str | None:
    """Why `path` cannot be (made into) a folder to write into, or None when it can: the
    check a command makes before a long run, so the run is not lost at its end."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None
