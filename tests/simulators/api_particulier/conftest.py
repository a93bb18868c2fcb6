"""Shared helpers for the API Particulier simulator tests: a settable clock and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.simulators.api_particulier import SimulatorConfig, create_simulator_app
from app.simulators.faults import PARIS

RECIPIENT = "13002526500013"  # DINUM's SIRET, the one the sandbox documentation uses
QF = "/v3/dss/quotient_familial/identite"
QF_FC = "/v3/dss/quotient_familial/france_connect"
RSA = "/v3/dss/revenu_solidarite_active/identite"
#: A Monday, after May 2026 so that the `annee=2026&mois=5` sandbox case is valid.
LUNDI = datetime(2026, 6, 15, 10, 0, 0, tzinfo=PARIS)

#: What httpx accepts as a query (a list is invariant: `list[tuple[str, str]]` would not do).
Params = list[tuple[str, str | int | float | bool | None]]

NOMINAL: Params = [
    ("recipient", RECIPIENT),
    ("nomNaissance", "LEFEBVRE"),
    ("prenoms[]", "ALEXIS"),
    ("prenoms[]", "GÉRÔME"),
    ("prenoms[]", "JEAN-PHILIPPE"),
    ("anneeDateNaissance", "1982"),
    ("moisDateNaissance", "12"),
    ("jourDateNaissance", "27"),
    ("sexeEtatCivil", "F"),
    ("codeCogInseePaysNaissance", "99100"),
    ("codeCogInseeCommuneNaissance", "08480"),
]


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = LUNDI

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def query(base: Params = NOMINAL, /, **changes: str | None) -> Params:
    """`base` with some scalar parameters replaced (a value) or removed (None)."""
    items: Params = [(k, v) for k, v in base if k not in changes]
    items += [(k, v) for k, v in changes.items() if v is not None]
    return items


Factory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_client(clock: FakeClock) -> AsyncIterator[Factory]:
    """Build clients over fresh simulators; `token=None` sends no Authorization header."""
    clients: list[httpx.AsyncClient] = []

    def factory(
        config: SimulatorConfig | None = None,
        token: str | None = "jeton-bac-a-sable",  # noqa: S107 - the sandbox accepts any token
        **changes: Any,
    ) -> httpx.AsyncClient:
        config = replace(config or SimulatorConfig(clock=clock), **changes)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_simulator_app(config)),
            base_url="http://simulateur.test",
            headers=headers,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: Factory) -> httpx.AsyncClient:
    return make_client()


def codes(response: httpx.Response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]
