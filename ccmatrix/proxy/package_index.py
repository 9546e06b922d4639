"""The package index LiteLLM releases come from, read through its JSON API (PEP 691,
with PEP 700's `versions` list): one HTTP request, where `pip index versions` spends
~2 s starting pip. The index is the one uv and pip are pointed at, PyPI by default."""

from __future__ import annotations

import os

import httpx
from packaging.version import InvalidVersion, Version

from ccmatrix.errors import CcmatrixError

__all__ = ["PackageIndexError", "final_versions", "index_url", "project", "versions"]


class PackageIndexError(CcmatrixError):
    pass


def index_url() -> str:
    return (os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL")
            or os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple").rstrip("/")


def project(package: str, timeout: float = 30) -> dict:
    """The index's JSON page for `package` (`files`, and `versions` where the index
    speaks PEP 700). Raises PackageIndexError when the index cannot be read as JSON."""
    url = f"{index_url()}/{package}/"
    try:
        r = httpx.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}, timeout=timeout,
                      follow_redirects=True)
        if r.status_code != 200:
            raise PackageIndexError(f"{url}: HTTP {r.status_code}")
        page = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PackageIndexError(f"{url}: {exc}") from None
    if not isinstance(page, dict):
        raise PackageIndexError(f"{url}: not a PEP 691 project page")
    return page


def versions(package: str, timeout: float = 30) -> list[str]:
    """The versions the index lists for `package` (PEP 700's `versions`; empty where the
    index does not list them). Raises PackageIndexError when the index cannot be read."""
    listed = project(package, timeout).get("versions")
    return [v for v in listed if isinstance(v, str)] if isinstance(listed, list) else []


def final_versions(listed: list[str]) -> list[Version]:
    """The final releases among `listed` (no pre- or dev-release, nothing unparsable), in order."""
    found = []
    for text in listed:
        try:
            v = Version(text)
        except InvalidVersion:
            continue
        if not (v.is_prerelease or v.is_devrelease):
            found.append(v)
    return sorted(found)
