"""__NAME__'s own tests: run by the pipeline's build before the image is built, and by `make test`."""

import __PKG__
from __PKG__ import main


def test_a_run_succeeds_and_reports_what_it_did(capsys):
    assert main({"JOB_TIMEOUT_SECONDS": "60"}) == 0
    assert '"event": "done"' in capsys.readouterr().out


def test_the_deadline_comes_before_the_platforms_timeout(monkeypatch):
    seen = {}
    monkeypatch.setattr(__PKG__, "run", lambda deadline, clock: seen.setdefault("deadline", deadline) and 0)
    assert main({"JOB_TIMEOUT_SECONDS": "600"}, clock=lambda: 1000.0) == 0
    assert seen["deadline"] == 1000.0 + 570


def test_a_failing_run_exits_1(monkeypatch):
    def boom(deadline, clock):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(__PKG__, "run", boom)
    assert main({"JOB_TIMEOUT_SECONDS": "60"}) == 1


def test_a_bad_timeout_fails_the_run():
    assert main({"JOB_TIMEOUT_SECONDS": "soon"}) == 1
