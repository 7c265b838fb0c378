"""Gates over a state directory: streams are created, then candidates judged."""

from __future__ import annotations

from pathlib import Path

import invar
import pytest


def test_accept_then_pin_on_the_doubled_file(feature_contract: invar.Contract, features: dict[str, bytes], tmp_path: Path) -> None:
    with invar.Gate(feature_contract, tmp_path) as gate:
        assert gate.init("bot-features", by="pytest") is None
        accepted = gate.submit("bot-features", features["good"])
        assert accepted.verdict == invar.Verdict.ACCEPT
        assert accepted.artifact == features["good"]
        assert accepted.to_dict()["decision"] == "accept"

        pinned = gate.submit("bot-features", features["bad"])
        assert pinned.verdict == invar.Verdict.PIN
        assert pinned.artifact == features["good"]  # publish the LKG again
        assert {v.invariant for v in pinned.violations} >= {"features.bounded", "features.growth"}

        assert gate.submit("bot-features", features["good"]).verdict == invar.Verdict.UNCHANGED


def test_reject_without_a_last_known_good(feature_contract: invar.Contract, features: dict[str, bytes], tmp_path: Path) -> None:
    with invar.Gate(feature_contract, tmp_path) as gate:
        gate.init("bot-features", by="pytest")
        rejected = gate.submit("bot-features", features["bad"])
        assert rejected.verdict == invar.Verdict.REJECT
        assert rejected.artifact is None


def test_seeded_init_and_refused_streams(feature_contract: invar.Contract, features: dict[str, bytes], tmp_path: Path) -> None:
    with invar.Gate(feature_contract, tmp_path) as gate:
        with pytest.raises(invar.InvarError) as err:
            gate.submit("never-created", features["good"])
        assert err.value.status == invar.Status.USAGE
        seeded = gate.init("bot-features", by="pytest", seed=features["good"], reason="the file in service")
        assert seeded is not None and seeded.verdict == invar.Verdict.ACCEPT
        with pytest.raises(invar.InvarError) as err:
            gate.init("bot-features", by="pytest")
        assert err.value.status == invar.Status.USAGE

        # A persistent guard of the stream starts with its LKG.
        with invar.Guard(feature_contract, tmp_path, "bot-features") as guard:
            assert guard.current() == features["good"]
            assert guard.refresh() is False
