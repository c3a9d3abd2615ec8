"""The reference platform as a load-test target: seeded, served on loopback, stopped after.

``ReferenceTarget`` makes a temporary folder with a SQLite database, fills it with
``yanxiu seed`` (which also writes ``accounts.csv`` and ``answers.json`` there; with
``progress_at``, the teachers have the study progress the model predicts at the stretch's
first minute, from ``model_results``), starts
``yanxiu serve`` on 127.0.0.1 at a free port with the campaign clock set to the replayed
stretch's first minute and a fixed SMS code for test mobiles, waits for ``/healthz``, and on
exit stops the server's whole process group and removes the folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from domain.sms import CODE_TTL_S
from loadtests.errors import TargetError

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ReferenceTarget:
    def __init__(self, scenario_path: Path, teachers: int, clock_start: str, sms_code: str,
                 workers: int = 1, clock_rate: float | None = None, say=print,
                 progress_at: str | None = None, model_results: Path | None = None,
                 database_url: str | None = None, serve_options: tuple[str, ...] = (),
                 resumed: int = 0) -> None:
        self.scenario_path, self.teachers = Path(scenario_path), teachers
        self.resumed = resumed  # teachers seeded in a session at progress_at (--resume-sessions)
        self.progress_at, self.model_results = progress_at, model_results
        self.clock_start, self.sms_code, self.workers = clock_start, sms_code, workers
        self.clock_rate, self.say = clock_rate, say
        self.database_url = database_url  # an empty database to seed and serve; default SQLite here
        self.serve_options = serve_options  # more `yanxiu serve` options (--max-in-flight, --waiting-room)
        self.folder: Path | None = None
        self._secret = secrets.token_hex(32)
        self.process: subprocess.Popen | None = None
        self.url = ""

    def _file(self, name: str) -> Path:
        if self.folder is None:
            raise TargetError("the reference platform has not been seeded yet")
        return self.folder / name

    @property
    def accounts(self) -> Path:
        return self._file("accounts.csv")

    @property
    def answers(self) -> Path:
        return self._file("answers.json")

    def __enter__(self) -> ReferenceTarget:
        # a terminated `yanxiu loadtest` still stops its server (which runs in its own
        # session, so that stopping it reaches its workers): SIGTERM/SIGHUP unwind as exit
        self._handlers = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
        self.folder = Path(tempfile.mkdtemp(prefix="yanxiu-loadtest-"))
        try:
            self._seed()
            self._serve()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_exc) -> None:
        try:
            self.stop()
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)
        finally:
            for sig, handler in getattr(self, "_handlers", {}).items():
                signal.signal(sig, handler)

    def _database(self) -> str:
        return self.database_url or f"sqlite:///{self._file('yanxiu.sqlite')}"

    def _seed(self) -> None:
        progress = f", study progress as the model has it at {self.progress_at}" if self.progress_at else ""
        self.say(f"seeding the reference platform with {self.teachers:,} teachers{progress} ...")
        argv = [sys.executable, "-m", "yanxiu.cli", "seed", "--teachers", str(self.teachers),
                "--database-url", self._database(), "--scenario", str(self.scenario_path),
                "--out", str(self.folder)]
        if self.progress_at:
            argv += ["--progress-at", self.progress_at]
            if self.model_results is not None and (Path(self.model_results) / "outcomes_daily.csv").is_file():
                argv += ["--model-results", str(self.model_results)]
            if self.resumed:
                argv += ["--resumed", str(self.resumed)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=self._env())
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise TargetError(f"reference platform: seeding failed: {last[0]}")

    def _serve(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self._file("serve.log"), "w")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "yanxiu.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--database-url", self._database(), "--scenario", str(self.scenario_path),
             "--clock-start", self.clock_start, "--sms-test-code", self.sms_code,
             "--workers", str(self.workers), *self.serve_options],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self._env())
        self._log = log
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self._file("serve.log").read_text().strip().splitlines()[-1:] or ["no output"]
                raise TargetError(f"reference platform: the server exited: {tail[0]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        self.say(f"reference platform up at {self.url} (clock {self.clock_start})")
                        return
            except OSError:
                time.sleep(0.2)
        raise TargetError(f"reference platform: not ready after {READY_TIMEOUT_S:.0f} s")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YANXIU_")}
        # one secret for the seeding and the server: the accounts file's tokens are then valid
        env["YANXIU_SECRET"] = self._secret
        if self.clock_rate is not None:
            env["YANXIU_CLOCK_RATE"] = f"{self.clock_rate:g}"
            # The server's latency is not compressed: a second in its queue is `rate` campaign
            # seconds. Stretch the code lifetime so that a slow answer under load does not
            # expire codes that a teacher typed in time (an artefact of the compression).
            env["YANXIU_SMS_TTL_S"] = f"{CODE_TTL_S * self.clock_rate:g}"
        return env

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()
        self.process = None
