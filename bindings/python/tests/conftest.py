"""Runs against the sources (bindings/python/src) and the library in $INVAR_LIBRARY."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent / "src"))

if not os.environ.get("INVAR_LIBRARY"):
    built = REPO / "build" / "release" / "libinvar.so"
    if built.exists():
        os.environ["INVAR_LIBRARY"] = str(built)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def features(repo: Path) -> dict[str, bytes]:
    base = repo / "examples" / "cloudflare-2025-features"
    return {"good": (base / "good.json").read_bytes(), "bad": (base / "bad.json").read_bytes()}


@pytest.fixture
def feature_contract(repo: Path):
    import invar

    with invar.Contract.load(repo / "rules" / "feature-file.contract.json") as contract:
        yield contract
