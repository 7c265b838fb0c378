"""Stateless checks: verdicts, located violations, reports in every format."""

from __future__ import annotations

import datetime as dt
import json
import threading

import invar
import pytest

CONTRACT = json.dumps(
    {
        "contract": "env",
        "artifact": {"format": "json"},
        "invariants": [{"id": "env.prod", "match": "$.env", "pattern": "^prod$", "why": "only prod configs ship"}],
    }
)


@pytest.fixture
def contract():
    with invar.Contract.from_string(CONTRACT) as c:
        yield c


def test_accept(contract: invar.Contract) -> None:
    report = contract.check(b'{"env": "prod"}')
    assert report.verdict == invar.Verdict.ACCEPT
    assert report.accepted
    assert report.violations == []
    assert report.artifact is None
    assert report.to_dict()["verdict"] == "accept"


def test_reject_locates_the_violation(contract: invar.Contract) -> None:
    report = contract.check(b'{\n  "name": "edge",\n  "env": "dev"\n}')
    assert report.verdict == invar.Verdict.REJECT
    assert not report.accepted
    [v] = report.violations
    assert (v.invariant, v.pointer, v.actual, v.severity) == ("env.prod", "/env", '"dev"', "error")
    assert v.why == "only prod configs ship"
    assert (v.line, v.column) == (3, 10)
    assert v.to_dict()["message"] == v.message


def test_unreadable_bytes_are_a_reject_not_an_error(contract: invar.Contract) -> None:
    report = contract.check('{"env": ')
    assert report.verdict == invar.Verdict.REJECT
    assert report.violations[0].invariant == "artifact.syntax"
    assert report.violations[0].line == 1


def test_render_every_format(contract: invar.Contract) -> None:
    with contract.check(b'{"env": "dev"}') as report:
        assert json.loads(report.render("json"))
        assert json.loads(report.render("sarif"))["version"] == "2.1.0"
        assert report.render("junit").startswith("<?xml")
        assert report.render("tap").startswith("TAP version 13")
        assert "env.prod" in report.render("github")
        assert "env.prod" in report.render("human")
        assert "env.prod" in report.text()
        with pytest.raises(invar.InvarError) as err:
            report.render("xml")
        assert err.value.status == invar.Status.ARGUMENT
        assert "valid: human, json" in err.value.message


def test_delta_against_a_baseline(feature_contract: invar.Contract, features: dict[str, bytes]) -> None:
    alone = feature_contract.check(features["good"])
    assert alone.verdict == invar.Verdict.ACCEPT
    report = feature_contract.check(features["bad"], baseline=features["good"])
    growth = [v for v in report.violations if v.invariant == "features.growth"]
    assert len(growth) == 1 and growth[0].baseline == "60" and growth[0].actual == "212"


def test_now_takes_datetimes_and_refuses_ambiguous_clocks(contract: invar.Contract) -> None:
    when = dt.datetime(2025, 11, 18, 11, 5, tzinfo=dt.timezone.utc)
    assert contract.check(b'{"env": "prod"}', now=when).accepted
    assert contract.check(b'{"env": "prod"}', now=1763463900000).accepted
    with pytest.raises(ValueError):
        contract.check(b"{}", now=dt.datetime(2025, 1, 1))
    with pytest.raises(invar.InvarError) as err:
        contract.check(b"{}", now=-(10**15))  # before the year 0001
    assert err.value.status == invar.Status.ARGUMENT


def test_one_contract_from_many_threads(contract: invar.Contract) -> None:
    verdicts: list[invar.Verdict] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for _ in range(50):
            v = contract.check(b'{"env": "prod"}' if i % 2 else b'{"env": "dev"}').verdict
            with lock:
                verdicts.append(v)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verdicts.count(invar.Verdict.ACCEPT) == 200 and verdicts.count(invar.Verdict.REJECT) == 200


def test_closed_objects_raise(contract: invar.Contract) -> None:
    report = contract.check(b'{"env": "dev"}')
    report.close()
    report.close()  # idempotent
    assert report.closed
    assert report.verdict == invar.Verdict.REJECT  # copied out at construction
    with pytest.raises(invar.InvarError, match="report is closed"):
        report.to_dict()
    contract.close()
    with pytest.raises(invar.InvarError, match="contract is closed"):
        contract.check(b"{}")
