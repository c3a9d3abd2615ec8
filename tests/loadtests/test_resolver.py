"""loadtests.resolver: an IP-literal host is answered in place, with the addresses gevent's
resolver gives, and a host name still goes to gevent's resolver; the replay installs it.

gevent's hub is per process and Locust monkey-patches on import, so each check runs in a child."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

CHECK = r"""
import json
from gevent import monkey; monkey.patch_all()
import socket
import gevent
from types import SimpleNamespace
from loadtests import resolver

hub = gevent.get_hub()
HOSTS = ("127.0.0.1", "::1", b"10.0.0.1", "localhost", "staging.example.org", None, "1")
plain = {h: socket.getaddrinfo(h, 8089, 0, socket.SOCK_STREAM, socket.SOL_TCP) for h in ("127.0.0.1", "::1")}
asked = []

class Recording:
    def __init__(self, inner):
        self.inner = inner
    def getaddrinfo(self, *args):
        asked.append(args[0])
        return self.inner.getaddrinfo(*args)
    def close(self):
        asked.append("closed")

hub.resolver = Recording(hub.resolver)
from loadtests.arrivals import Replay
Replay(SimpleNamespace(), SimpleNamespace(accounts=[], registrations=None), 0, 1, 0.0)  # installs it
Replay(SimpleNamespace(), SimpleNamespace(accounts=[], registrations=None), 0, 1, 0.0)  # ... once
wrapped = hub.resolver
same = all(socket.getaddrinfo(h, 8089, 0, socket.SOCK_STREAM, socket.SOL_TCP) == plain[h] for h in plain)
literal_asked = list(asked)
socket.getaddrinfo("localhost", 80, 0, socket.SOCK_STREAM)
wrapped.close()
print(json.dumps({"wrapper": type(wrapped).__name__, "inner": type(wrapped.inner).__name__, "same": same,
                  "literal_asked": literal_asked, "asked": asked,
                  "literals": [resolver.is_ip_literal(h) for h in HOSTS]}))
"""


def test_literals_are_answered_in_place_and_names_by_gevents_resolver():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["wrapper"] == "LiteralFirst" and got["inner"] == "Recording"  # wrapped once
    assert got["same"]  # the addresses the thread resolver gave
    assert got["literal_asked"] == []  # no literal reached gevent's resolver
    assert got["asked"] == ["localhost", "closed"]  # a name does, and so does the hub's close()
    assert got["literals"] == [True, True, True, False, False, False, False]
