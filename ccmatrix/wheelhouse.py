"""A folder of wheels for installing ccmatrix itself with no network.

`ccmatrix setup --wheelhouse` downloads (and builds, for sdist-only packages), while the network is there, every
package the installed ccmatrix needs plus its build backend; later, with the
network gone, `pip install --no-index --find-links <wheelhouse> <ccmatrix wheel>`
works in a brand-new virtual environment. The tests use it to prove that a wheel
of ccmatrix runs on its own.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import cache_dir

# pyproject.toml's build-system requirement: building a wheel needs it too
BUILD_BACKEND = "hatchling>=1.21"


class WheelhouseError(CcmatrixError):
    pass


def wheelhouse_dir() -> Path:
    return cache_dir() / "wheelhouse"


def runtime_requirements() -> list[str]:
    """What the installed ccmatrix declares, without its extras."""
    return [r for r in metadata.requires("ccmatrix") or [] if "extra ==" not in r]


def fill(target: Path | None = None) -> Path:
    target = target or wheelhouse_dir()
    target.mkdir(parents=True, exist_ok=True)
    # `pip wheel`, not `pip download`: some dependencies only exist as sdists
    # (mitmproxy's pyperclip), and an offline install needs them built.
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(target), *runtime_requirements(), BUILD_BACKEND]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("WARNING: Location"))[-1500:]
        raise WheelhouseError(f"downloading ccmatrix's dependencies into {target} failed:\n{tail}")
    return target
