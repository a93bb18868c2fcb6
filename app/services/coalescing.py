"""Single-flight request coalescing: concurrent identical calls share one execution.

API Particulier answers 409 to identical concurrent calls and every call spends quota, so N callers
asking for the same data at once must cause one upstream call. This module does it within one process;
the cross-worker part (a Redis lock around the leader, issue 6) plugs into `Coalescer._lead`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Coalescer:
    """Runs at most one `factory` per key at a time; concurrent callers of the same key await it."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task[Any]] = {}

    @property
    def inflight(self) -> int:
        """Number of keys being computed right now (for tests and metrics)."""
        return len(self._inflight)

    async def run(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        """The result of `factory()`, computed once for all concurrent callers of `key`.

        `key` must already be free of personal data (use `SecureCache.cle`). The factory runs in its
        own task, so one caller being cancelled (a client that hangs up) neither cancels the others
        nor the upstream call; its exception, if any, is raised to every waiter.
        """
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._lead(key, factory))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # shield: a cancelled waiter must not cancel the shared task.
        return cast(T, await asyncio.shield(task))

    async def _lead(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        # Seam for issue 6: take a cross-worker lock on `key` here (Redis SET NX PX), re-check the
        # cache once it is held, and only then call the factory.
        del key
        return await factory()

    def _forget(self, key: str, done: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        # Mark the exception as retrieved even when every waiter was cancelled, so asyncio does not
        # report "exception was never retrieved" for an outcome that was in fact handled.
        if not done.cancelled():
            done.exception()
