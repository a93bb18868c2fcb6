"""In-process single-flight: concurrent identical calls share one factory call."""

from __future__ import annotations

import asyncio
import gc

import pytest

from app.services.coalescing import Coalescer


async def test_hundred_concurrent_identical_calls_make_one_factory_call() -> None:
    coalescer = Coalescer()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await release.wait()
        return {"quotient_familial": 550}

    waiters = [asyncio.create_task(coalescer.run("k", fetch)) for _ in range(100)]
    await asyncio.sleep(0)  # let every waiter join before the factory completes
    assert coalescer.inflight == 1
    release.set()
    results = await asyncio.gather(*waiters)

    assert calls == 1
    assert results == [{"quotient_familial": 550}] * 100
    assert coalescer.inflight == 0


async def test_different_keys_do_not_share() -> None:
    coalescer = Coalescer()
    calls: list[str] = []

    async def fetch(key: str) -> str:
        calls.append(key)
        await asyncio.sleep(0)
        return key

    results = await asyncio.gather(*(coalescer.run(k, lambda k=k: fetch(k)) for k in ("a", "b", "a")))  # type: ignore[misc]
    assert results == ["a", "b", "a"]
    assert sorted(calls) == ["a", "b"]


async def test_exception_propagates_to_every_waiter_and_the_entry_is_removed() -> None:
    coalescer = Coalescer()
    calls = 0
    release = asyncio.Event()

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("upstream down")

    waiters = [asyncio.create_task(coalescer.run("k", failing)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)

    assert calls == 1
    assert all(isinstance(o, RuntimeError) and str(o) == "upstream down" for o in outcomes)
    assert coalescer.inflight == 0

    # Done means forgotten: the next call runs the factory again.
    async def working() -> int:
        return 7

    assert await coalescer.run("k", working) == 7


async def test_sequential_calls_are_not_cached() -> None:
    coalescer = Coalescer()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await coalescer.run("k", fetch) == 1
    assert await coalescer.run("k", fetch) == 2


async def test_a_cancelled_waiter_cancels_neither_the_others_nor_the_call() -> None:
    coalescer = Coalescer()
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "ok"

    first = asyncio.create_task(coalescer.run("k", fetch))
    second = asyncio.create_task(coalescer.run("k", fetch))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await second == "ok"


async def test_failure_with_every_waiter_gone_is_not_reported_as_unretrieved() -> None:
    coalescer = Coalescer()
    release = asyncio.Event()
    reports: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reports.append(context))

    async def failing() -> int:
        await release.wait()
        raise RuntimeError("boom")

    try:
        waiter = asyncio.create_task(coalescer.run("k", failing))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release.set()
        for _ in range(3):  # the shared task resumes, fails, then its done-callbacks run
            await asyncio.sleep(0)
        assert coalescer.inflight == 0
        del waiter
        gc.collect()  # a task whose exception nobody retrieved reports it when collected
    finally:
        loop.set_exception_handler(None)
    assert reports == []
