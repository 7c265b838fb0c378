"""Signed decisions: trusted keys, verify_attestation, and a guard that verifies what it follows.

tests/data/signing holds an artifact, its attestation (signed for stream "s",
no stage, sequence 1, valid 2026-12-01T10:00Z to 2026-12-02T10:00Z) and the
trusted-keys file of the key that signed it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import invar
import pytest

FRESH = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
LATE = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)


@pytest.fixture
def signing(repo: Path) -> dict[str, bytes]:
    base = repo / "tests" / "data" / "signing"
    return {
        "keys": (base / "trusted-keys.json").read_bytes(),
        "artifact": (base / "artifact.json").read_bytes(),
        "envelopes": (base / "artifact.json.intoto.jsonl").read_bytes(),
        "keys_path": str(base / "trusted-keys.json"),
    }


def test_a_good_attestation_verifies(signing: dict) -> None:
    with invar.TrustedKeys.from_string(signing["keys"]) as keys:
        statement = invar.verify_attestation(keys, signing["envelopes"], signing["artifact"], stream="s", stage="", now=FRESH)
    assert statement["sequence"] == 1
    assert statement["stream"] == "s"
    assert statement["verdict"] == "accept"
    assert statement["keyid"] == "binding-test"
    with invar.TrustedKeys.load(signing["keys_path"]) as keys:
        assert invar.verify_attestation(keys, signing["envelopes"], signing["artifact"], now=FRESH)["sequence"] == 1


def test_refusals_name_the_check(signing: dict) -> None:
    with invar.TrustedKeys.from_string(signing["keys"]) as keys:
        cases = {
            "subject digest differs": dict(data=signing["artifact"] + b" "),
            "(freeze)": dict(now=LATE),
            "(rollback)": dict(min_sequence=2),
            "stream differs": dict(stream="other"),
        }
        for check, change in cases.items():
            args = dict(data=signing["artifact"], now=FRESH) | change
            with pytest.raises(invar.RefusedError) as err:
                invar.verify_attestation(keys, signing["envelopes"], **args)
            assert check in err.value.message
            assert err.value.status == invar.Status.REFUSED
            assert isinstance(err.value, invar.InvarError)
    other = '{"keys": [{"keyid": "other", "public": "' + "A" * 43 + '="}]}'
    with invar.TrustedKeys.from_string(other) as keys:
        with pytest.raises(invar.RefusedError, match="no signature by a trusted key"):
            invar.verify_attestation(keys, signing["envelopes"], signing["artifact"], now=FRESH)
    with pytest.raises(invar.InvarError) as bad:
        invar.TrustedKeys.from_string('{"keys": []}')
    assert bad.value.status == invar.Status.USAGE


def test_a_guard_with_trusted_keys_refuses_an_unsigned_lkg(signing: dict, tmp_path: Path) -> None:
    contract = invar.Contract.from_string(
        '{"contract": "race", "invariants": [{"id": "items", "count": "$.items[*]", "min": 1}]}'
    )
    with contract, invar.Gate(contract, tmp_path) as gate:
        gate.init("s", by="pytest", seed=signing["artifact"], reason="unsigned")
        with invar.TrustedKeys.from_string(signing["keys"]) as keys:
            with pytest.raises(invar.RefusedError, match="carries no attestation"):
                invar.Guard(contract, tmp_path, "s", trusted_keys=keys)
        # Without trusted keys nothing changes.
        with invar.Guard(contract, tmp_path, "s") as guard:
            assert guard.current() == signing["artifact"]
