"""Issue 13: random numbers and structures to every endpoint of the API (read from the OpenAPI
document, so a new endpoint is fuzzed too): never a 500, never a hang.

Each request runs under a generous timeout (a hang fails the test); how fast the hostile
requests are answered is measured by bench/bench_robustesse.py, never asserted here.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from app.rules.facts import CATALOGUE_FAITS, DefinitionFait, TypeFait
from tests.conftest import AUTH, gateway_settings
from tests.routers.test_eligibilite import LEFEBVRE

#: A request that takes longer than this is a hang (the documented bound is far lower).
DELAI_PENDU_S = 60.0


class _Passerelle:
    """The sandbox gateway, its lifespan open in a thread of its own, called synchronously: the
    hypothesis examples share one app (starting one per example would take minutes)."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.pret = threading.Event()
        self.fin: asyncio.Future[None] | None = None
        self.client: httpx.AsyncClient | None = None
        reglages = gateway_settings(tmp_path, client_rate_limit_requests=0)
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._vivre(reglages),))
        self.thread.start()
        if not self.pret.wait(60):
            raise RuntimeError("la passerelle n'a pas démarré")

    async def _vivre(self, reglages: Any) -> None:
        self.fin = self.loop.create_future()
        app = create_app(reglages)
        async with (
            LifespanManager(app, startup_timeout=30) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
            ) as client,
        ):
            self.client = client
            self.pret.set()
            await self.fin

    def appeler(self, methode: str, chemin: str, **options: Any) -> httpx.Response:
        assert self.client is not None
        futur = asyncio.run_coroutine_threadsafe(self.client.request(methode, chemin, **options), self.loop)
        return futur.result(timeout=DELAI_PENDU_S)  # TimeoutError: the request hung

    def fermer(self) -> None:
        assert self.fin is not None
        self.loop.call_soon_threadsafe(self.fin.set_result, None)
        self.thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def passerelle_partagee(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Passerelle]:
    passerelle = _Passerelle(tmp_path_factory.mktemp("aleatoire"))
    try:
        yield passerelle
    finally:
        passerelle.fermer()


NOMBRES_HOSTILES = st.sampled_from(
    ["1e999999", "-1e999999", "1e-999999", "NaN", "-Infinity", "sNaN", "1e400", "0x10", "1_000", "١٢٣", ""]
)
NOMBRES = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    NOMBRES_HOSTILES,
)
TEXTES = st.text(max_size=40) | st.sampled_from(
    ["\x00", "D-0001\n", "9999-12-31", "0001-01-01", "2016-05", "CŒUR"]
)
SCALAIRES = st.none() | st.booleans() | NOMBRES | TEXTES
JSON = st.recursive(
    SCALAIRES,
    lambda enfants: (
        st.lists(enfants, max_size=5) | st.dictionaries(st.text(max_size=25), enfants, max_size=5)
    ),
    max_leaves=25,
)
DATES = st.dates().map(str) | TEXTES
DATES_PLAUSIBLES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(str)


def _valeur(definition: DefinitionFait) -> st.SearchStrategy[Any]:
    """Mostly a value of the fact's type (so that evaluation runs), sometimes anything."""
    typee: st.SearchStrategy[Any] = {
        TypeFait.NOMBRE: NOMBRES,
        TypeFait.ENTIER: NOMBRES,
        TypeFait.BOOLEEN: st.booleans(),
        TypeFait.TEXTE: st.sampled_from(definition.valeurs_admises or ("08480",)),
        TypeFait.DATE: DATES_PLAUSIBLES,
        TypeFait.MEMBRES: st.lists(DATES_PLAUSIBLES | st.sampled_from(["2016", "2016-05", ""]), max_size=8),
    }[definition.type]
    return st.one_of(*[typee] * 9, JSON)


FAITS = st.fixed_dictionaries(
    {},
    optional={nom: _valeur(definition) for nom, definition in sorted(CATALOGUE_FAITS.items())},
) | st.fixed_dictionaries({"quotient_familial_caf": NOMBRES})
CORPS_SIMULATION = st.fixed_dictionaries(
    {"faits": FAITS},
    optional={
        "date_reference": DATES,
        "dispositifs": JSON,
        "reglement": TEXTES | st.just("dispositifs: [*a]"),
    },
)
CORPS_DEMANDE = st.fixed_dictionaries(
    {
        "demandeur": st.fixed_dictionaries(
            {},
            optional={
                cle: st.just(valeur) | SCALAIRES | JSON
                for cle, valeur in {**LEFEBVRE, "numero_fiscal": "3999999898230"}.items()
            },
        )
    },
    optional={"date_reference": DATES, "dossier_ref": TEXTES, "dispositifs": JSON, "declaratif": JSON},
)
CORPS = st.one_of(JSON, CORPS_SIMULATION, CORPS_SIMULATION, CORPS_DEMANDE)
OCTETS = st.binary(max_size=300) | st.sampled_from([b"[" * 1000, b'{"faits": {"a": ' * 500, b"\xff\xfe"])
PARAMETRES = st.dictionaries(
    st.sampled_from(
        ["du", "au", "dossier_ref", "agent_id", "type", "limite", "curseur", "format", "tout", "x"]
    ),
    TEXTES | NOMBRES.map(str),
    max_size=5,
)


def _operations(passerelle: _Passerelle) -> list[tuple[str, str]]:
    document = passerelle.appeler("GET", "/openapi.json").json()
    return sorted(
        (methode.upper(), chemin)
        for chemin, operations in document["paths"].items()
        for methode in operations
        if methode in ("get", "post", "put", "patch", "delete")
    )


def _chemin(modele: str, valeur: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: quote(valeur, safe="") or "x", modele)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(donnees=st.data())
def test_no_500_and_no_hang_on_any_endpoint(passerelle_partagee: _Passerelle, donnees: st.DataObject) -> None:
    operations = _operations(passerelle_partagee)
    assert ("POST", "/v1/simulations") in operations
    methode, modele = donnees.draw(st.sampled_from(operations), label="opération")
    chemin = _chemin(modele, donnees.draw(TEXTES, label="paramètre de chemin"))
    options: dict[str, Any] = {"headers": dict(AUTH), "params": donnees.draw(PARAMETRES, label="requête")}
    if methode in ("POST", "PUT", "PATCH"):
        if donnees.draw(st.booleans(), label="octets bruts"):
            options["content"] = donnees.draw(OCTETS, label="corps")
        else:
            # Python's JSON, not httpx's: NaN and Infinity are written, as a hostile caller would.
            options["content"] = json.dumps(donnees.draw(CORPS, label="corps")).encode()
        options["headers"]["Content-Type"] = "application/json"
    reponse = passerelle_partagee.appeler(methode, chemin, **options)
    assert reponse.status_code < 500 or (reponse.status_code == 503 and modele == "/readyz"), (
        methode,
        chemin,
        reponse.status_code,
        reponse.text[:500],
    )
    if reponse.status_code >= 400:
        assert reponse.headers["content-type"] == "application/problem+json"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corps=CORPS_SIMULATION)
def test_simulations_never_500_whatever_the_facts(
    passerelle_partagee: _Passerelle, corps: dict[str, Any]
) -> None:
    reponse = passerelle_partagee.appeler(
        "POST",
        "/v1/simulations",
        content=json.dumps(corps).encode(),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert reponse.status_code in (200, 413, 422), reponse.text[:500]
