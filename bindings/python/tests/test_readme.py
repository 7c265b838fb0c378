"""README.md's example runs as written, from the repository's root."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def test_readme_example(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(repo)
    scope: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    assert scope["config"] == (repo / "examples" / "cloudflare-2025-features" / "good.json").read_bytes()
