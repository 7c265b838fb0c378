"""The package builds offline with the system's setuptools and works from its wheel."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None,
    reason="pip or setuptools is not installed for this Python (python3-pip, python3-setuptools)",
)
def test_offline_wheel(tmp_path: Path) -> None:
    # A copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-index", "--no-deps", "-w", str(dist), str(source)],
        check=True,
    )
    [wheel] = dist.glob("invar-0.1.0-*.whl")
    probe = "import invar, importlib.resources as r; assert r.files('invar').joinpath('py.typed').is_file(); print(invar.__file__, invar.version())"
    env = dict(os.environ, PYTHONPATH=str(wheel))
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert out.startswith(str(wheel))
