"""One deadline per gateway request: every upstream wait (quota, coalescing, retries) draws on it.

The deadline lives in a context variable opened by `echeance(...)` around the collection of one
request's data, so that the limiter, the coalescer and the retries deep below it share one budget
without threading it through every signature. Outside such a scope each call gets a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: Used when no request opened a deadline (direct service calls, tests): the settings' default.
DEFAULT_BUDGET_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class Deadline:
    """An absolute point on the monotonic clock."""

    expires_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


_current: ContextVar[Deadline | None] = ContextVar("eg_deadline", default=None)


@contextmanager
def echeance(seconds: float) -> Iterator[Deadline]:
    """Open the request's deadline (an enclosing one, if any, is kept: it is the request's)."""
    existing = _current.get()
    if existing is not None:
        yield existing
        return
    deadline = Deadline.after(seconds)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def courante(default_seconds: float = DEFAULT_BUDGET_SECONDS) -> Deadline:
    """The current request's deadline, or a fresh one when no request opened any."""
    return _current.get() or Deadline.after(default_seconds)
