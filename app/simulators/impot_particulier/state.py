"""Configuration and per-instance state of the API Impôt particulier simulator.

Same shape as the API Particulier simulator's (faults, latency, counters, injectable clock), plus
what DGFiP adds: OAuth2 clients and their tokens, and the 50 calls/minute quota per client.
Everything mutable lives in one `ImpotSimulatorState` per app instance (no module globals).
"""

from __future__ import annotations

import math
import secrets
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from app.simulators.faults import PARIS, FaultInjection, FaultSchedule, paris_now
from app.simulators.impot_particulier.foyers import (
    AddressSpelling,
    DateFormat,
    Foyer,
    foyers_par_defaut,
)

SCOPES_DGFIP: Final[frozenset[str]] = frozenset(
    {
        "RessourceIR",
        "RessourceIRDerniere",
        "RessourceIRDerniere2",
        "RessourceIRMultiple",
        "RessourceIRFacture",
        "RessourceIFI",
    }
)
#: Credentials of the simulator's default client (documented sandbox values, not secrets).
SIMULATEUR_CLIENT_ID: Final[str] = "simulateur-impot-particulier"
SIMULATEUR_CLIENT_SECRET: Final[str] = "simulateur-secret"  # noqa: S105 - public sandbox value
SIMULATEUR_ID_TELESERVICE: Final[str] = "SIMULATEUR-CCAS"


@dataclass(frozen=True, slots=True)
class ClientOAuth:
    secret: str
    scopes: frozenset[str] = SCOPES_DGFIP


@dataclass(frozen=True, slots=True)
class ImpotSimulatorConfig:
    """How one simulator instance behaves; defaults are the real service's documented behaviour."""

    #: Injectable clock (aware datetime): token expiry, quota windows and the taxation calendar.
    clock: Callable[[], datetime] = paris_now
    clients: Mapping[str, ClientOAuth] = field(
        default_factory=lambda: {SIMULATEUR_CLIENT_ID: ClientOAuth(SIMULATEUR_CLIENT_SECRET)}
    )
    token_lifetime_seconds: int = 3600
    quota_per_minute: int = 50
    #: None: any ID_Teleservice (or none, the spec says optional); else the header must equal it.
    id_teleservice: str | None = None
    latency_seconds: float = 0.0
    faults: FaultInjection = field(default_factory=FaultInjection)
    #: `usage`: `commune`/`codePostal` as the wire shows; `spec`: `getcommune`/`getcodePostal`.
    address_spelling: AddressSpelling = "usage"
    #: Raw format of `datRec`/`datEtab` is unpublished: ISO, JJ/MM/AAAA or AAAAMMJJ.
    date_format: DateFormat = "iso"
    foyers: Mapping[str, Foyer] = field(default_factory=foyers_par_defaut)

    def now(self) -> datetime:
        moment = self.clock()
        return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment.astimezone(PARIS)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float  # POSIX timestamp from the config clock


class QuotaLimiter:
    """Sliding 60-second window per OAuth2 client, as the DGFiP APIM counts calls per minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._calls: dict[str, deque[float]] = defaultdict(deque)

    def hit(self, client_id: str, now: float) -> int | None:
        """Record a call; return None when allowed, else the Retry-After in seconds."""
        window = self._calls[client_id]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, math.ceil(window[0] + 60 - now))
        window.append(now)
        return None

    def clear(self) -> None:
        self._calls.clear()


class Counters:
    """Calls per resource and per status, token calls: what tests and benchmarks read."""

    def __init__(self) -> None:
        self.total = 0
        self.tokens = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: defaultdict[str, Counter[int]] = defaultdict(Counter)

    def record(self, endpoint: str, status: int) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_status[endpoint][status] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "jetons": self.tokens,
            "par_endpoint": dict(sorted(self.by_endpoint.items())),
            "par_statut": {
                e: {str(s): n for s, n in sorted(c.items())} for e, c in sorted(self.by_status.items())
            },
        }


class ImpotSimulatorState(FaultSchedule):
    """The mutable state of one simulator instance."""

    def __init__(self, config: ImpotSimulatorConfig) -> None:
        self.config = config
        self.tokens: dict[str, IssuedToken] = {}
        self.quota = QuotaLimiter(config.quota_per_minute)
        self.counters = Counters()
        self.faults = config.faults
        self._fault_eligible_calls = 0

    def issue_token(self, client_id: str, scopes: frozenset[str]) -> tuple[str, int]:
        value = secrets.token_urlsafe(24)
        lifetime = self.config.token_lifetime_seconds
        self.tokens[value] = IssuedToken(client_id, scopes, self.config.now().timestamp() + lifetime)
        return value, lifetime

    def token(self, value: str) -> IssuedToken | None:
        issued = self.tokens.get(value)
        if issued is None or issued.expires_at <= self.config.now().timestamp():
            return None
        return issued

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def reset(self) -> None:
        """Back to the configured state: counters, quota windows and faults (tokens stay valid)."""
        self.quota.clear()
        self.counters = Counters()
        self.faults = self.config.faults
        self._fault_eligible_calls = 0

    def latency(self) -> float:
        return self.config.latency_seconds + self.faults.latency_seconds
