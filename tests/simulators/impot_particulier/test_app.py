"""The API Impôt particulier simulator on its own: token, contract checks, quota, faults, control API."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from stdnum.fr import nif

from app.simulators.faults import PARIS
from app.simulators.impot_particulier import (
    BASE_PATH,
    SIMULATEUR_CLIENT_ID,
    SIMULATEUR_CLIENT_SECRET,
    ClientOAuth,
    FaultInjection,
    ImpotSimulatorConfig,
    create_impot_simulator_app,
)
from app.simulators.impot_particulier.app import ConnectionDropped
from app.simulators.impot_particulier.foyers import foyers_par_defaut

SPI = "3999999101455"


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 10, 0, tzinfo=PARIS))


async def simulator(clock: Clock, **config: Any) -> httpx.AsyncClient:
    app = create_impot_simulator_app(ImpotSimulatorConfig(clock=clock, **config))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with await simulator(clock) as client:
        yield client


def basic(client_id: str = SIMULATEUR_CLIENT_ID, secret: str = SIMULATEUR_CLIENT_SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def token(
    sim: httpx.AsyncClient, scope: str = "RessourceIR RessourceIRDerniere RessourceIRDerniere2"
) -> str:
    response = await sim.post(
        "/token", data={"grant_type": "client_credentials", "scope": scope}, headers=basic()
    )
    assert response.status_code == 200
    value: str = response.json()["access_token"]
    return value


def headers(bearer: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}", "X-Correlation-ID": str(uuid.uuid4()), **extra}


DEUX_ANS = f"{BASE_PATH}/spi/{{spi}}/dernieresituation/ir/assiettes/deuxans"
ASSIETTES = f"{BASE_PATH}/spi/{{spi}}/situations/ir/assiettes/annrev/{{annee}}"
DERNIERE = f"{BASE_PATH}/spi/{{spi}}/dernieresituation/ir/assiettes/annrev/{{annee}}"


# --- token -----------------------------------------------------------------------------------


async def test_token_with_basic_auth(sim: httpx.AsyncClient) -> None:
    response = await sim.post(
        "/token", data={"grant_type": "client_credentials", "scope": "RessourceIR"}, headers=basic()
    )
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "RessourceIR"


async def test_token_with_form_credentials(sim: httpx.AsyncClient) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": SIMULATEUR_CLIENT_ID,
        "client_secret": SIMULATEUR_CLIENT_SECRET,
    }
    response = await sim.post("/token", data=form)
    assert response.status_code == 200
    assert "RessourceIRDerniere2" in response.json()["scope"].split()


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, basic(secret="faux"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, basic(client_id="inconnu"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, {"Authorization": "Basic !!!"}, 401, "invalid_client"),
        ({"grant_type": "password"}, basic(), 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "scope": "RessourceLEP"}, basic(), 400, "invalid_scope"),
    ],
)
async def test_token_refusals(
    sim: httpx.AsyncClient, data: dict[str, str], auth: dict[str, str], status: int, error: str
) -> None:
    response = await sim.post("/token", data=data, headers=auth)
    assert (response.status_code, response.json()) == (status, {"error": error})


# --- contract checks ----------------------------------------------------------------------------


async def test_data_call_media_type_and_correlation_echo(sim: httpx.AsyncClient) -> None:
    bearer = await token(sim)
    sent = headers(bearer)
    response = await sim.get(DEUX_ANS.format(spi=SPI), headers=sent)
    assert response.status_code == 200
    assert (
        response.headers["content-type"]
        == "application/prs.dgfip.part.derniere.situations.ir.assiettes.v1+json"
    )
    assert response.headers["x-correlation-id"] == sent["X-Correlation-ID"]
    assert response.json()["annRevenu"] == 2024
    assessed = await sim.get(ASSIETTES.format(spi=SPI, annee=2023), headers=headers(bearer))
    assert assessed.headers["content-type"] == "application/prs.dgfip.part.situations.ir.assiettes.v1+json"


@pytest.mark.parametrize("correlation", [None, "", "pas-un-uuid", "12345678-1234-1234-1234-12345678901"])
async def test_400_without_a_valid_correlation_id(sim: httpx.AsyncClient, correlation: str | None) -> None:
    sent = {"Authorization": f"Bearer {await token(sim)}"}
    if correlation is not None:
        sent["X-Correlation-ID"] = correlation
    response = await sim.get(DEUX_ANS.format(spi=SPI), headers=sent)
    assert response.status_code == 400
    assert "X-Correlation-ID" in response.json()["erreur"]["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer inconnu", "Basic abc", "Bearer"])
async def test_401_without_a_valid_token(sim: httpx.AsyncClient, authorization: str | None) -> None:
    sent = {"X-Correlation-ID": str(uuid.uuid4())}
    if authorization is not None:
        sent["Authorization"] = authorization
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=sent)).status_code == 401


async def test_token_expires_with_the_clock(sim: httpx.AsyncClient, clock: Clock) -> None:
    bearer = await token(sim)
    clock.moment += timedelta(seconds=3599)
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).status_code == 200
    clock.moment += timedelta(seconds=1)
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).status_code == 401


async def test_403_when_the_scope_does_not_cover_the_resource(sim: httpx.AsyncClient) -> None:
    bearer = await token(sim, scope="RessourceIR")
    assert (await sim.get(ASSIETTES.format(spi=SPI, annee=2024), headers=headers(bearer))).status_code == 200
    response = await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))
    assert response.status_code == 403
    assert response.json()["erreur"]["code"] == 4031


async def test_id_teleservice_checked_when_configured(clock: Clock) -> None:
    async with await simulator(clock, id_teleservice="TS-1") as sim:
        bearer = await token(sim)
        url = DEUX_ANS.format(spi=SPI)
        assert (await sim.get(url, headers=headers(bearer))).status_code == 403
        assert (await sim.get(url, headers=headers(bearer, ID_Teleservice="TS-2"))).status_code == 403
        assert (await sim.get(url, headers=headers(bearer, ID_Teleservice="TS-1"))).status_code == 200


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        (DEUX_ANS.format(spi="123"), 400, 4001),
        (DEUX_ANS.format(spi="399999910145A"), 400, 4001),
        (ASSIETTES.format(spi=SPI, annee="24"), 400, 4002),
        (ASSIETTES.format(spi=SPI, annee="deux"), 400, 4002),
        (DEUX_ANS.format(spi="3999999121475"), 410, 4102),
        (ASSIETTES.format(spi=SPI, annee=2025), 410, 4101),  # not taxed before 22 July 2026
        (ASSIETTES.format(spi=SPI, annee=2021), 410, 4101),  # older than N-3
        (DERNIERE.format(spi="3999999108462", annee=2024), 410, 4101),
    ],
)
async def test_dgfip_errors(sim: httpx.AsyncClient, url: str, status: int, code: int) -> None:
    response = await sim.get(url, headers=headers(await token(sim)))
    assert response.status_code == status
    erreur = response.json()["erreur"]
    assert erreur["code"] == code
    assert erreur["message"]
    assert datetime.fromisoformat(erreur["horodatage"])


async def test_forced_204_has_no_body(sim: httpx.AsyncClient) -> None:
    response = await sim.get(DEUX_ANS.format(spi="3999999117471"), headers=headers(await token(sim)))
    assert (response.status_code, response.content) == (204, b"")


async def test_calendar_switch_on_22_july(sim: httpx.AsyncClient, clock: Clock) -> None:
    clock.moment = datetime(2026, 7, 21, 23, 59, tzinfo=PARIS)
    bearer = await token(sim)
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).json()["annRevenu"] == 2024
    clock.moment = datetime(2026, 7, 22, 0, 0, tzinfo=PARIS)
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).json()["annRevenu"] == 2025


# --- quota ------------------------------------------------------------------------------------


async def test_fifty_calls_per_minute_per_client(sim: httpx.AsyncClient, clock: Clock) -> None:
    bearer = await token(sim)
    url = DEUX_ANS.format(spi=SPI)
    for _ in range(50):
        clock.moment += timedelta(milliseconds=100)
        assert (await sim.get(url, headers=headers(bearer))).status_code == 200
    refused = await sim.get(url, headers=headers(bearer))
    assert refused.status_code == 429
    assert refused.json()["erreur"]["message"] == "le quota de requêtes a été dépassé"
    assert refused.headers["retry-after"] == "56"  # the first call leaves the window in 55.9 s
    clock.moment += timedelta(seconds=56)
    assert (await sim.get(url, headers=headers(bearer))).status_code == 200


async def test_quota_is_per_client(clock: Clock) -> None:
    clients = {"a": ClientOAuth("sa"), "b": ClientOAuth("sb")}
    async with await simulator(clock, clients=clients, quota_per_minute=2) as sim:
        url = DEUX_ANS.format(spi=SPI)
        bearers = {}
        for name in clients:
            form = {"grant_type": "client_credentials"}
            bearers[name] = (await sim.post("/token", data=form, headers=basic(name, f"s{name}"))).json()[
                "access_token"
            ]
        statuses = [(await sim.get(url, headers=headers(bearers["a"]))).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await sim.get(url, headers=headers(bearers["b"]))).status_code == 200


# --- variants -------------------------------------------------------------------------------------


async def test_spec_spelling_and_french_dates(clock: Clock) -> None:
    async with await simulator(clock, address_spelling="spec", date_format="fr") as sim:
        body = (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(await token(sim)))).json()
    assert set(body["aftDetail"]) == {"complementAdresse", "voie", "getcommune", "getcodePostal"}
    assert body["datRec"] == "31/07/2025"


async def test_compact_dates(clock: Clock) -> None:
    async with await simulator(clock, date_format="compact") as sim:
        body = (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(await token(sim)))).json()
    assert body["datEtab"] == "20250707"


# --- faults and control API ---------------------------------------------------------------------


async def test_server_error_every_second_call_then_cleared(sim: httpx.AsyncClient) -> None:
    bearer = await token(sim)
    url = DEUX_ANS.format(spi=SPI)
    set_up = await sim.put(
        "/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 502, "every_nth": 2}
    )
    assert set_up.json()["mode"] == "erreur_serveur"
    statuses = [(await sim.get(url, headers=headers(bearer))).status_code for _ in range(4)]
    assert statuses == [200, 502, 200, 502]
    await sim.delete("/__simulateur/pannes")
    assert (await sim.get(url, headers=headers(bearer))).status_code == 200


async def test_malformed_json_fault(sim: httpx.AsyncClient) -> None:
    await sim.put("/__simulateur/pannes", json={"mode": "json_malforme"})
    response = await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(await token(sim)))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_dropped_connection_fault(sim: httpx.AsyncClient) -> None:
    await sim.put("/__simulateur/pannes", json={"mode": "connexion_coupee"})
    with pytest.raises(ConnectionDropped):  # in-process transport: the app's exception surfaces
        await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(await token(sim)))


async def test_fault_restricted_to_an_endpoint(sim: httpx.AsyncClient) -> None:
    await sim.put(
        "/__simulateur/pannes", json={"mode": "erreur_serveur", "status": 503, "endpoints": ["assiettes"]}
    )
    bearer = await token(sim)
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).status_code == 200
    assert (await sim.get(ASSIETTES.format(spi=SPI, annee=2024), headers=headers(bearer))).status_code == 503


@pytest.mark.parametrize(
    "body",
    [{"mode": "panne"}, {"status": 418, "mode": "erreur_serveur"}, {"inconnu": 1}, [1], {"every_nth": 0}],
)
async def test_bad_fault_requests_are_refused(sim: httpx.AsyncClient, body: object) -> None:
    assert (await sim.put("/__simulateur/pannes", json=body)).status_code == 422


async def test_counters_and_reset(sim: httpx.AsyncClient) -> None:
    bearer = await token(sim)
    await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))
    await sim.get(DEUX_ANS.format(spi="3999999121475"), headers=headers(bearer))
    await sim.get(ASSIETTES.format(spi=SPI, annee=2024), headers=headers(bearer))
    counters = (await sim.get("/__simulateur/compteurs")).json()
    assert counters == {
        "total": 3,
        "jetons": 1,
        "par_endpoint": {"assiettes": 1, "deux_ans": 2},
        "par_statut": {"assiettes": {"200": 1}, "deux_ans": {"200": 1, "410": 1}},
    }
    assert (await sim.post("/__simulateur/reinitialiser")).status_code == 204
    assert (await sim.get("/__simulateur/compteurs")).json()["total"] == 0


async def test_expiring_tokens_from_the_control_api(sim: httpx.AsyncClient) -> None:
    bearer = await token(sim)
    await sim.delete("/__simulateur/jetons")
    assert (await sim.get(DEUX_ANS.format(spi=SPI), headers=headers(bearer))).status_code == 401


async def test_foyers_listing(sim: httpx.AsyncClient) -> None:
    foyers = {f["spi"]: f for f in (await sim.get("/__simulateur/foyers")).json()}
    assert foyers["3999999108462"]["annees_disponibles"] == [2023, 2022]
    assert foyers[SPI]["annees_disponibles"] == [2024, 2023, 2022]
    assert foyers["3999999114468"]["annees_disponibles"] == []


# --- fixtures -------------------------------------------------------------------------------------


def test_fictitious_spis_have_a_valid_check_key_and_sandbox_ones_are_documented() -> None:
    for spi, foyer in foyers_par_defaut().items():
        if nif.is_valid(spi):
            continue
        assert spi in {"3999999899410", "3999999776202"}
        assert "clé de contrôle invalide" in foyer.origine


def test_every_data_foyer_has_the_core_fields() -> None:
    for foyer in foyers_par_defaut().values():
        if foyer.erreur is None:
            assert {"rfr", "sitFam", "nbPart", "pac", "nmNaiDec1", "dateNaisDec1"} <= set(foyer.situation)


def test_fault_injection_round_trip() -> None:
    faults = FaultInjection.from_json({"mode": "delai_depasse", "endpoints": ["deux_ans"]})
    assert FaultInjection.from_json(faults.to_json()) == faults
