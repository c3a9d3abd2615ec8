"""Group py-spy samples (``--format raw``, folded stacks of non-idle threads) by the layer of
the server they were spent in, so a benchmark can say where a request's time goes.

The benchmark records with ``--gil`` (only the thread holding the GIL), so the shares are of
the workers' Python CPU: without it, uvloop's epoll waits (C code under ``Runner.run``) looked
like 40% busy time. With uvloop the event loop is C code: its samples show ``Runner.run`` as
the leaf. Leaves of threads that merely wait for work are left out in case py-spy did not
flag them idle.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

IDLE_LEAVES = (
    "select (selectors.py",
    "_worker (concurrent/futures/thread.py",
    "wait (threading.py",
    "get (queue.py",
    "poll (selectors.py",
    "accept (socket.py",
    "Connection._recv (multiprocessing",
    "GroupCommitter._loop (reference/committer.py",
)
# (layer, test on the whole stack) in priority order: the first that matches wins.
STACK_RULES = [
    ("SQLite BEGIN IMMEDIATE (incl. waiting for the write lock)", lambda s: "_begin (reference/db.py" in s),
    ("SQLite COMMIT", lambda s: "do_commit (" in s),
    ("SQLite statement execution", lambda s: "do_execute (" in s or "do_executemany (" in s),
    ("argon2 password hashing", lambda s: "argon2" in s),
    ("token check (HMAC, base64, JSON)", lambda s: "reference/security.py" in s),
]
# (layer, substring of the leaf frame's file) for everything else.
LEAF_RULES = [
    ("SQLAlchemy (ORM, Core, pool, compile, results)", "sqlalchemy/"),
    ("JSON + pydantic (parse, validate, serialise)", ("pydantic", "json/", "jsonable_encoder")),
    ("metrics (prometheus_client)", ("prometheus_client", "reference/metrics.py")),
    ("FastAPI / Starlette (routing, middleware, dependencies)", ("fastapi/", "starlette/", "anyio/")),
    ("event loop in C (uvloop callbacks, HTTP parsing)", "Runner.run (asyncio/runners.py"),
    ("uvicorn + asyncio (HTTP protocol, socket writes)", ("uvicorn/", "httptools", "h11", "asyncio/")),
    ("group commit hand-off (queue, file lock, wake-ups)", "reference/committer.py"),
    ("reference app code (heartbeat rules, its raw SQL calls, clock)", "reference/"),
]


def classify(stack: str) -> str | None:
    frames = stack.split(";")
    leaf = frames[-1] if frames else ""
    if any(marker in leaf for marker in IDLE_LEAVES):
        return None
    for name, test in STACK_RULES:
        if test(stack):
            return name
    for name, needles in LEAF_RULES:
        needles = (needles,) if isinstance(needles, str) else needles
        if any(n in leaf for n in needles):
            return name
    return "other (Python runtime, stdlib)"


def layer_shares(files: list[Path]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            layer = classify(stack)
            if layer:
                counts[layer] += int(n)
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}
