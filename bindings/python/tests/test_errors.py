"""Failures raise InvarError with the C status and invar_last_error's message."""

from __future__ import annotations

from pathlib import Path

import invar
import pytest


def test_missing_contract_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.contract.json"
    with pytest.raises(invar.InvarError) as err:
        invar.Contract.load(missing)
    assert err.value.status == invar.Status.IO
    assert str(missing) in err.value.message
    assert "cannot read contract" in err.value.message
    assert err.value.message in str(err.value)


def test_contract_that_does_not_compile() -> None:
    with pytest.raises(invar.InvarError) as err:
        invar.Contract.from_string('{"contract": "x", "invariants": [{"id": "a", "match": "$.x", "pattern": "("}]}')
    assert err.value.status == invar.Status.CONTRACT
    assert err.value.message


def test_guard_needs_both_state_dir_and_stream(feature_contract: invar.Contract, tmp_path: Path) -> None:
    with pytest.raises(invar.InvarError) as err:
        invar.Guard(feature_contract, tmp_path)
    assert err.value.status == invar.Status.ARGUMENT
    assert "state_dir and stream" in err.value.message


def test_wrong_argument_types(feature_contract: invar.Contract) -> None:
    with pytest.raises(TypeError):
        feature_contract.check(42)  # type: ignore[arg-type]


def test_library_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from invar import _lib

    monkeypatch.setenv("INVAR_LIBRARY", "/nowhere/libinvar.so")
    assert _lib.library_path() == "/nowhere/libinvar.so"
