"""The states a cell (and each of its tiers) can have in the published matrix."""

from __future__ import annotations

from typing import Literal

Status = Literal["pass", "fail", "not_applicable", "not_tested"]
