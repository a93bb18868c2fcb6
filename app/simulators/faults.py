"""Fault injection shared by both upstream simulators, for tests and benchmarks.

One definition, so the API Particulier and API Impôt particulier simulators fail the same ways
and are driven by the same JSON through their `/__simulateur/pannes` control routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

FaultMode = Literal["aucune", "delai_depasse", "connexion_coupee", "json_malforme", "erreur_serveur"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)


def paris_now() -> datetime:
    return datetime.now(PARIS)


@dataclass(frozen=True, slots=True)
class FaultInjection:
    """Failures a simulator injects on its data routes.

    - `delai_depasse`: sleep `timeout_sleep_seconds` (longer than any sane client timeout), then answer.
    - `connexion_coupee`: start the response then drop the connection.
    - `json_malforme`: a 200 whose body is truncated JSON.
    - `erreur_serveur`: answer `status` (500, 502, 503 or 504) with the provider's body for it.
    `every_nth` applies the fault to one eligible call in N (deterministic: the Nth, 2Nth…);
    `endpoints` restricts it to some routes, None meaning all.
    """

    mode: FaultMode = "aucune"
    status: int = 502
    timeout_sleep_seconds: float = 30.0
    every_nth: int = 1
    endpoints: frozenset[str] | None = None
    #: Extra latency added to every data call, on top of the simulator's configured latency.
    latency_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ValueError(f"mode de panne inconnu : {self.mode}")
        if self.status not in (500, 502, 503, 504):
            raise ValueError("status doit valoir 500, 502, 503 ou 504")
        if self.every_nth < 1 or self.timeout_sleep_seconds < 0 or self.latency_seconds < 0:
            raise ValueError("every_nth ≥ 1, délais ≥ 0")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultInjection:
        """Build from the control API's JSON; unknown keys are refused so typos do not pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"champs inconnus : {', '.join(unknown)}")
        values = dict(data)
        if values.get("endpoints") is not None:
            values["endpoints"] = frozenset(values["endpoints"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["endpoints"] = sorted(self.endpoints) if self.endpoints is not None else None
        return data


class FaultSchedule:
    """The faults in force on one simulator, and the count of eligible calls `every_nth` runs on.

    Both simulators' state classes inherit it, so they choose when to fail the same way.
    """

    faults: FaultInjection
    _fault_eligible_calls: int

    def set_faults(self, faults: FaultInjection) -> None:
        self.faults = faults
        self._fault_eligible_calls = 0

    def next_fault(self, endpoint: str) -> FaultInjection | None:
        """The fault to inject on this call, if any (counts eligible calls for `every_nth`)."""
        faults = self.faults
        if faults.mode == "aucune":
            return None
        if faults.endpoints is not None and endpoint not in faults.endpoints:
            return None
        self._fault_eligible_calls += 1
        return faults if self._fault_eligible_calls % faults.every_nth == 0 else None
