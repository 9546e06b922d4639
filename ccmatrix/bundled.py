"""Where ccmatrix finds what it ships: the cassettes, known-issues.yaml, the mitmdump script.

An installed wheel carries the cassettes and known issues as package data in
`ccmatrix/_bundled/` (the build copies them there: `force-include` in
pyproject.toml); a source checkout has them at the top of the tree. Nothing else
in ccmatrix knows either location.
"""

from __future__ import annotations

from pathlib import Path

from ccmatrix.errors import CcmatrixError

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_DIR = PACKAGE_DIR / "_bundled"  # only in an installed wheel
CHECKOUT_DIR = PACKAGE_DIR.parent  # a source checkout (editable install)


class BundleError(CcmatrixError):
    """Something ccmatrix ships was not found, or would be written inside the installed package."""


def _locate(name: str) -> Path:
    """The packaged copy if this is an installed wheel, else the checkout's (which may not exist)."""
    packaged = PACKAGED_DIR / name
    return packaged if packaged.exists() else CHECKOUT_DIR / name


# Defaults for function signatures; `cassette_dir()` checks that the tree exists.
DEFAULT_CASSETTE_DIR = _locate("cassettes")
DEFAULT_KNOWN_ISSUES = _locate("known-issues.yaml")
# What mitmdump loads with `-s`. It lives in a folder of its own because
# mitmproxy puts a script's folder at the front of sys.path for good.
RECORDER_SCRIPT = PACKAGE_DIR / "recorder" / "script" / "ccmatrix_recorder.py"


def cassette_dir(given: Path | None = None, *, writing: bool = False) -> Path:
    """The cassette tree to use: `given` (the `--cassettes` option) or the bundled one.

    Writing (record, capture) into the copy inside an installed package would
    change site-packages behind the user's back: it needs an explicit folder."""
    if given is not None:
        path = Path(given).expanduser()
        if not writing and not path.is_dir():
            raise BundleError(f"--cassettes {given}: no such directory")
        return path
    if not DEFAULT_CASSETTE_DIR.is_dir():
        raise BundleError(
            f"no bundled cassettes (looked in {PACKAGED_DIR / 'cassettes'} and {CHECKOUT_DIR / 'cassettes'}); "
            "pass --cassettes DIR"
        )
    if writing and is_packaged(DEFAULT_CASSETTE_DIR):
        raise BundleError(
            f"the bundled cassettes in {DEFAULT_CASSETTE_DIR} belong to the installed package; "
            "pass --cassettes DIR to record into a folder of your own"
        )
    return DEFAULT_CASSETTE_DIR


def is_packaged(path: Path) -> bool:
    """Whether `path` is inside the installed package's data."""
    return Path(path).resolve().is_relative_to(PACKAGED_DIR)
