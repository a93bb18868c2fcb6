"""Configuration and per-instance state of the simulator: rate limiter, in-flight requests, counters, faults.

Everything mutable lives in one `SimulatorState` held by one app instance (no module globals), so
two simulators in the same process never share a quota, a lock or a counter.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.simulators.faults import PARIS, FaultInjection, FaultSchedule, paris_now


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How one simulator instance behaves. Every field has the real sandbox's behaviour as default."""

    #: Injectable clock (aware datetime); drives the rate-limit windows, periods and maintenance.
    clock: Callable[[], datetime] = paris_now
    #: None: any non-empty bearer token is accepted, like a sandbox token.
    accepted_tokens: frozenset[str] | None = None
    rate_limit_per_second: int = 20
    #: production: QF `annee`/`mois` echo the requested (default: current) month and a case without
    #: period answers for any valid month; static: exact matching and payload verbatim (real staging).
    period_mode: Literal["production", "static"] = "production"
    latency_seconds: float = 0.0
    faults: FaultInjection = field(default_factory=FaultInjection)
    #: SIADE sends `application/vnd.api+json`, the OpenAPI documents `application/json` (contract §2.2).
    media_type: str = "application/json"

    def now(self) -> datetime:
        """The clock's time in Europe/Paris (a naive clock is taken as Paris time)."""
        moment = self.clock()
        return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment.astimezone(PARIS)


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int


class RateLimiter:
    """Fixed one-second windows per token, as Rack::Attack counts them (throttled calls count too)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, now: float) -> RateDecision:
        window = math.floor(now)
        start, count = self._window.get(key, (window, 0))
        if start != window:
            count = 0
        count += 1
        self._window[key] = (window, count)
        reset = window + 1
        return RateDecision(
            allowed=count <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - count),
            reset=reset,
            retry_after=max(1, math.ceil(reset - now)),
        )

    def clear(self) -> None:
        self._window.clear()


class Counters:
    """Calls per endpoint, per clock second and per status: what benchmarks read to count upstream calls."""

    def __init__(self) -> None:
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_second: Counter[int] = Counter()
        self.by_status: defaultdict[str, Counter[int]] = defaultdict(Counter)
        #: Per token (named by a short digest): calls per clock second and 429s, what the quota
        #: benchmarks compare with the per-token allowance.
        self.by_token_second: defaultdict[str, Counter[int]] = defaultdict(Counter)
        self.by_token_429: Counter[str] = Counter()

    def record_call(self, endpoint: str, second: int) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_second[second] += 1

    def record_status(self, endpoint: str, status: int) -> None:
        self.by_status[endpoint][status] += 1

    def record_token(self, token: str, second: int, status: int) -> None:
        nom = hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]
        self.by_token_second[nom][second] += 1
        if status == 429:
            self.by_token_429[nom] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "par_endpoint": dict(sorted(self.by_endpoint.items())),
            "par_seconde": {str(s): n for s, n in sorted(self.by_second.items())},
            "max_par_seconde": max(self.by_second.values(), default=0),
            "par_statut": {
                endpoint: {str(s): n for s, n in sorted(statuses.items())}
                for endpoint, statuses in sorted(self.by_status.items())
            },
            "par_jeton": {
                nom: {
                    "max_par_seconde": max(secondes.values(), default=0),
                    "reponses_429": self.by_token_429[nom],
                }
                for nom, secondes in sorted(self.by_token_second.items())
            },
        }


class SimulatorState(FaultSchedule):
    """The mutable state of one simulator instance."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.limiter = RateLimiter(config.rate_limit_per_second)
        self.counters = Counters()
        self.in_flight: set[tuple[str, tuple[tuple[str, str], ...], str]] = set()
        self.faults = config.faults
        self._fault_eligible_calls = 0

    def reset(self) -> None:
        """Back to the configured state: counters, rate-limit windows and faults."""
        self.limiter.clear()
        self.counters = Counters()
        self.faults = self.config.faults
        self._fault_eligible_calls = 0

    def latency(self) -> float:
        return self.config.latency_seconds + self.faults.latency_seconds
