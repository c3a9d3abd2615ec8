"""An administrator's progress view: the model counts the view and no sign-in
(sim.population.background), so an administrator whose account carries a token issued before the
test views at once; without one he logs in with his password (a login the model does not plan:
smoke's replays sent 1.04x the model's logins, the administrators' sign-ins).

Locust monkey-patches the process on import, so the journey runs in a child process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

VIEW = r"""
import sys
from gevent import monkey; monkey.patch_all()
from types import SimpleNamespace
from loadtests.accounts import Account
from loadtests.journeys import AdminJourney
from loadtests.session import Session

calls = []

class Api:
    def resume_issued(self, account):
        return bool(account.token)
    def log_in(self, account, password):
        calls.append("login")
        return True
    def credentials(self):
        return {}
    def admin_progress(self, account):
        calls.append("admin_progress")
        return True

account = Account("13900000001", "pw", 0, 1, "P", "basic", "school_admin", token=sys.argv[1])
user = SimpleNamespace(api=Api(), signed_in=False,
                       replay=SimpleNamespace(roster=SimpleNamespace(admin=lambda: account), tokens={}))
user.sign_in_with_password = lambda acc: Session.sign_in_with_password(user, acc)
AdminJourney.progress(SimpleNamespace(session=user))
print(",".join(calls), user.signed_in)
"""


@pytest.mark.parametrize(("token", "calls"), [("issued-before-the-test", "admin_progress"),
                                              ("", "login,admin_progress")])
def test_an_administrator_signs_in_only_without_an_issued_token(token, calls):
    done = subprocess.run([sys.executable, "-c", VIEW, token], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [calls, "True"]
