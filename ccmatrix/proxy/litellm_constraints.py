"""What a LiteLLM release needs beside it for its proxy to start.

A release's wheel allows ranges (`fastapi>=0.136.3,<1.0`), and a dependency released
later can break it. A release environment is therefore resolved as of the release's
publication (uv `--exclude-newer`), then these known constraints apply: each is data,
a release range and the pins it needs, with the import error it avoids and how that
was found. When a freshly built proxy still does not import, every constraint whose
error matches is tried as a fallback (`fallbacks`), whatever its range; what was
pinned is written into the environment's provenance (`.ccmatrix-env.json`).

Add a constraint when `ccmatrix run --litellm X` stops with an ImportError: pin the
newest dependency release that still has what LiteLLM imports, and say how you know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version


@dataclass(frozen=True)
class Constraint:
    releases: str  # the LiteLLM releases it applies to up front: a PEP 440 specifier set
    pins: tuple[str, ...]  # requirements installed beside litellm[proxy]
    avoids: str  # a regular expression for the import error it avoids
    found: str  # the evidence: how the failure was seen and the pin chosen

    def applies_to(self, version: str) -> bool:
        return Version(version) in SpecifierSet(self.releases)

    def avoids_error(self, output: str) -> bool:
        return re.search(self.avoids, output) is not None


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        releases="==1.97.0",
        pins=("fastapi==0.140.0",),
        avoids=r"cannot import name 'get_flat_dependant' from 'fastapi\.dependencies\.utils'",
        found="`ccmatrix run --litellm 1.97.0` exits 2: `ImportError: cannot import name 'get_flat_dependant' "
              "from 'fastapi.dependencies.utils'` (imported by litellm/proxy/management_endpoints/"
              "management_v1/common.py). 1.97.0 (published 2026-08-16) allows fastapi>=0.136.3,<1.0; "
              "fastapi 0.140.0 still has the function, 0.140.13 and 0.141.1 do not; resolving as of the "
              "publication date still picks 0.141.1. Pinning 0.140.0 makes the proxy import (ccmatrix issue 12).",
    ),
)


def known_pins(version: str) -> tuple[str, ...]:
    """The pins the table gives a release up front."""
    return tuple(pin for c in CONSTRAINTS if c.applies_to(version) for pin in c.pins)


def fallbacks(import_output: str, tried: tuple[str, ...] = ()) -> list[Constraint]:
    """Constraints whose error the failed import shows, not yet tried, in table order."""
    return [c for c in CONSTRAINTS if c.avoids_error(import_output) and not set(c.pins) <= set(tried)]
