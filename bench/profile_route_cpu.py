"""Where the route CPU counter's cost goes (reference.route_cpu), in process, on this machine:
a clock read, a task's creation and each of its steps with and without the task factory, a
thread-pool call with and without its wrapper, the labelled counter's increment, and a
hello-world request through the whole app with the counter on and off.

    .venv/bin/python bench/profile_route_cpu.py [--repeats 7]

Each figure is the median of ``--repeats`` runs (garbage collection off during each), in
microseconds of this process's CPU (``time.process_time``); the counter's extras are
differences against the same work without it, measured in alternation. Loopback-free,
bounded by the fixed counts below.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = 4000  # tasks a run
STEP_COUNT = 100_000  # steps of the coroutine driven by hand
POOL_CALLS = 1000
CLOCK_READS = 200_000


def _cpu_us(run: Callable[[], object], count: int) -> float:
    gc.collect()
    gc.disable()  # a collection inside one of two runs compared would be the difference
    try:
        started = time.process_time()
        run()
        return (time.process_time() - started) * 1e6 / count
    finally:
        gc.enable()


def clock_reads() -> dict[str, float]:
    def reads(clock: Callable[[], float]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(CLOCK_READS):
                clock()
        return run

    return {"time.thread_time() a read": _cpu_us(reads(time.thread_time), CLOCK_READS),
            "time.perf_counter() a read": _cpu_us(reads(time.perf_counter), CLOCK_READS)}


class _Suspend:
    def __await__(self) -> Generator[None, None, None]:
        yield None


async def _suspending(count: int) -> None:
    suspend = _Suspend()
    for _ in range(count):
        await suspend


def steps(timed: bool) -> float:
    """CPU µs a step of a coroutine driven by hand (no loop), wrapped as the factory wraps a
    task's coroutine or not: the per-step cost alone."""
    from reference import route_cpu

    coro = _suspending(STEP_COUNT)
    send = route_cpu._Timed(coro, route_cpu.Account()).send if timed else coro.send

    def run() -> None:
        with contextlib.suppress(StopIteration):
            while True:
                send(None)

    return _cpu_us(run, STEP_COUNT)


def tasks(timed: bool) -> float:
    """CPU µs a task of one step made by the loop's create_task and run: the factory's cost
    with the first step's."""
    from reference import route_cpu

    loop = asyncio.new_event_loop()
    try:
        if timed:
            loop.set_task_factory(route_cpu._task_factory)  # type: ignore[arg-type]

        async def many() -> None:
            for _ in range(TASKS // 100):
                await asyncio.gather(*[loop.create_task(_suspending(0)) for _ in range(100)])

        return _cpu_us(lambda: loop.run_until_complete(many()), TASKS)
    finally:
        loop.close()


def pool_calls(timed: bool) -> float:
    """CPU µs an ``anyio.to_thread.run_sync`` of a no-op from a request's step."""
    from reference import route_cpu

    loop = asyncio.new_event_loop()
    try:
        loop.set_task_factory(route_cpu._task_factory)  # type: ignore[arg-type]
        run_sync = route_cpu._run_sync if timed else route_cpu._original_run_sync

        async def calls() -> None:
            for _ in range(POOL_CALLS):
                await run_sync(int)

        loop.run_until_complete(loop.create_task(calls()))  # warm the pool's threads
        return _cpu_us(lambda: loop.run_until_complete(loop.create_task(calls())), POOL_CALLS)
    finally:
        loop.close()


def counter_inc() -> float:
    from reference.route_cpu import ROUTE_CPU

    child = ROUTE_CPU.labels("profile_route_cpu")

    def run() -> None:
        for _ in range(CLOCK_READS):
            child.inc(0.001)

    return _cpu_us(run, CLOCK_READS)


def hello_app(on: bool, folder: Path):
    from reference.main import create_app
    from reference.settings import Settings

    options = {"route_cpu": on} if "route_cpu" in Settings.model_fields else {}
    settings = Settings(database_url=f"sqlite:///{folder / f'hello-{on}.sqlite'}",
                        secret="profile-secret-" + "p" * 20, **options)
    return create_app(settings)


def hello(app, on: bool) -> float:
    """CPU µs a GET /hello through the app (bench.profile_asgi), the counter's factory
    installed on that loop or not."""
    from bench import profile_asgi
    from reference import route_cpu

    profile_asgi._loop = loop = asyncio.new_event_loop()
    try:
        loop.set_task_factory(route_cpu._task_factory if on else None)  # type: ignore[arg-type]
        cpu_ms, _calls = profile_asgi.hello_cpu(app, 5000)
        return cpu_ms * 1000
    finally:
        loop.close()
        profile_asgi._loop = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory(prefix="yanxiu-route-cpu-") as tmp:
        apps = {on: hello_app(on, Path(tmp)) for on in (False, True)}
        for _ in range(args.repeats):
            for name, value in clock_reads().items():
                add(name, value)
            plain, timed = steps(False), steps(True)
            add("a step, unwrapped", plain)
            add("a step: the wrapper's extra", timed - plain)
            plain, timed = tasks(False), tasks(True)
            add("a task of one step, no factory", plain)
            add("a task of one step: the factory's extra (its step's wrapper included)", timed - plain)
            plain, timed = pool_calls(False), pool_calls(True)
            add("pool call, unwrapped", plain)
            add("pool call: the wrapper's extra", timed - plain)
            add("labelled counter's inc()", counter_inc())
            off, on = hello(apps[False], False), hello(apps[True], True)
            add("GET /hello in process, counter off", off)
            add("GET /hello in process: the counter's extra", on - off)
        for app in apps.values():
            app.state.yanxiu.db.dispose()
    print(f"route CPU counter, in process, CPU µs (median of {args.repeats}; [min, max]):")
    for name, values in figures.items():
        print(f"  {statistics.median(values):9.3f}  [{min(values):.3f}, {max(values):.3f}]  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
