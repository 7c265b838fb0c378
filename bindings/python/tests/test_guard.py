"""Guards: the Cloudflare 2025 replay, seeding, persistence and threads."""

from __future__ import annotations

import threading
from pathlib import Path

import invar
import pytest


def test_cloudflare_2025_replay(feature_contract: invar.Contract, features: dict[str, bytes]) -> None:
    with invar.Guard(feature_contract) as guard:
        assert guard.current() is None
        first = guard.update(features["good"])
        assert first.verdict == invar.Verdict.ACCEPT
        assert guard.current() == features["good"]

        # The doubled feature file of 18 Nov 2025: the proxy keeps serving the good one.
        doubled = guard.update(features["bad"])
        assert doubled.verdict == invar.Verdict.PIN
        assert doubled.artifact == features["good"]
        assert guard.current() == features["good"]
        bounded = next(v for v in doubled.violations if v.invariant == "features.bounded")
        assert bounded.actual == "212" and bounded.pointer == "/features"
        assert "decision" in doubled.to_dict()

        assert guard.update(features["good"]).verdict == invar.Verdict.UNCHANGED


def test_seed(feature_contract: invar.Contract, features: dict[str, bytes]) -> None:
    with invar.Guard(feature_contract) as guard:
        assert guard.seed(features["good"]).verdict == invar.Verdict.ACCEPT
        assert guard.current() == features["good"]
        with pytest.raises(invar.InvarError) as err:
            guard.seed(features["good"])
        assert err.value.status == invar.Status.USAGE


def test_persistent_guard_follows_its_stream(feature_contract: invar.Contract, features: dict[str, bytes], tmp_path: Path) -> None:
    small = features["good"].replace(b'"version": 41', b'"version": 42')
    with invar.Gate(feature_contract, tmp_path) as gate:
        gate.init("bot", by="pytest", seed=features["good"], reason="in service")
        with invar.Guard(feature_contract, tmp_path, "bot") as guard:
            assert guard.current() == features["good"]
            assert gate.submit("bot", small).verdict == invar.Verdict.ACCEPT
            assert guard.refresh() is True
            assert guard.current() == small
            assert guard.refresh() is False


def test_guard_keeps_its_contract_alive(features: dict[str, bytes], repo: Path) -> None:
    guard = invar.Guard(invar.Contract.load(repo / "rules" / "feature-file.contract.json"))
    assert guard.update(features["good"]).accepted
    guard.close()


def test_updates_and_reads_from_threads(feature_contract: invar.Contract, features: dict[str, bytes]) -> None:
    guard = invar.Guard(feature_contract)
    guard.update(features["good"])
    served: set[bytes | None] = set()
    lock = threading.Lock()

    def work(i: int) -> None:
        for _ in range(30):
            guard.update(features["bad"] if i % 2 else features["good"])
            current = guard.current()
            with lock:
                served.add(current)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert served == {features["good"]}
    guard.close()
