"""Access control over HTTP: API keys (unknown, revoked, rotated with an overlap), client scopes and
organisme habilitations refused before any upstream call, and the per-client rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from app.config import Settings
from app.db.engine import create_engine_from_url
from app.db.tables import CleApiRow
from app.services.organismes import hash_api_key
from tests.conftest import gateway_settings, open_gateway, upstream_calls
from tests.organismes import SIRET_A, SIRET_B, OrganismeDeTest, admin_de, bearer, provisionner
from tests.routers.test_eligibilite import MARTIN_AXELLE, demande


@pytest.fixture
def settings(tmp_path: Path, simulateur: str) -> Settings:
    return gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        api_key_cache_ttl_seconds=0,
    )


async def _status(client: httpx.AsyncClient, key: str) -> int:
    return (await client.get("/v1/reglement", headers=bearer(key))).status_code


async def test_unknown_and_missing_keys_are_401(settings: Settings) -> None:
    async with open_gateway(settings) as client:
        unknown = await client.get("/v1/reglement", headers=bearer("eg_pas-une-cle"))
        missing = await client.get("/v1/reglement")

    assert unknown.status_code == missing.status_code == 401
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "authentification-requise"


async def test_revoked_client_is_401_at_once(settings: Settings) -> None:
    keys = await provisionner(
        settings, [OrganismeDeTest("ccas-a", SIRET_A)], [("ccas-a", "logiciel", ["eligibilite"])]
    )
    engine = create_engine_from_url(settings.database_url)
    try:
        async with open_gateway(settings) as client:
            assert await _status(client, keys["logiciel"]) == 200
            assert await admin_de(settings, engine).revoquer_client("logiciel") == 1
            assert await _status(client, keys["logiciel"]) == 401
    finally:
        await engine.dispose()


async def test_rotated_key_works_during_the_overlap_then_is_401(settings: Settings) -> None:
    keys = await provisionner(
        settings, [OrganismeDeTest("ccas-a", SIRET_A)], [("ccas-a", "logiciel", ["eligibilite"])]
    )
    old = keys["logiciel"]
    engine = create_engine_from_url(settings.database_url)
    try:
        new, fin = await admin_de(settings, engine).tourner_cle("logiciel", timedelta(hours=1))
        assert fin > datetime.now(UTC)
        async with open_gateway(settings) as client:
            assert await _status(client, old) == 200
            assert await _status(client, new) == 200
            # The overlap ends: move the old key's end into the past, as the clock eventually would.
            async with engine.begin() as connection:
                await connection.execute(
                    update(CleApiRow)
                    .where(CleApiRow.empreinte == hash_api_key(old))
                    .values(expire_le=datetime.now(UTC) - timedelta(seconds=1))
                )
            assert await _status(client, old) == 401
            assert await _status(client, new) == 200
            # A rotation without overlap retires the current key immediately.
            newest, _ = await admin_de(settings, engine).tourner_cle("logiciel", timedelta(0))
            assert await _status(client, new) == 401
            assert await _status(client, newest) == 200
    finally:
        await engine.dispose()


async def test_client_without_the_scope_is_refused_before_any_upstream_call(
    settings: Settings, simulateur: str
) -> None:
    keys = await provisionner(
        settings, [OrganismeDeTest("ccas-a", SIRET_A)], [("ccas-a", "simulateur-seul", ["simulations"])]
    )
    async with open_gateway(settings) as client:
        eligibilite = await client.post(
            "/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=bearer(keys["simulateur-seul"])
        )
        donnees = await client.post(
            "/v1/donnees", json={"demandeur": MARTIN_AXELLE}, headers=bearer(keys["simulateur-seul"])
        )

    assert eligibilite.status_code == donnees.status_code == 403
    assert "eligibilite" in eligibilite.json()["detail"]
    assert "donnees" in donnees.json()["detail"]
    assert await upstream_calls(simulateur) == 0


async def test_organisme_without_the_habilitation_is_refused_before_any_upstream_call(
    settings: Settings, simulateur: str
) -> None:
    # ccas-a's habilitation grants the household composition but not the quotient familial the
    # règlement reads; ccas-b's grants nothing of the CAF data set.
    keys = await provisionner(
        settings,
        [
            OrganismeDeTest(
                "ccas-a", SIRET_A, habilitation=frozenset({"cnaf_allocataires", "cnaf_enfants"}), forcer=True
            ),
            OrganismeDeTest("ccas-b", SIRET_B, habilitation=frozenset({"dgfip_rfr"}), forcer=True),
        ],
        [("ccas-a", "logiciel", ["eligibilite", "donnees"]), ("ccas-b", "autre", ["donnees"])],
    )
    async with open_gateway(settings) as client:
        eligibilite = await client.post(
            "/v1/eligibilite", json=demande(MARTIN_AXELLE), headers=bearer(keys["logiciel"])
        )
        donnees = await client.post(
            "/v1/donnees",
            json={"demandeur": MARTIN_AXELLE, "donnees": ["quotient_familial"]},
            headers=bearer(keys["autre"]),
        )

    assert eligibilite.status_code == donnees.status_code == 403
    assert eligibilite.headers["content-type"] == "application/problem+json"
    detail = eligibilite.json()["detail"]
    assert "cnaf_quotient_familial" in detail
    assert "Aucun appel" in detail
    # Only what the règlement reads is required: not the address, nor the whole DGFiP data set.
    assert "cnaf_adresse" not in detail
    assert "dgfip_montant_impot" not in detail
    assert "cnaf_quotient_familial" in donnees.json()["detail"]
    assert await upstream_calls(simulateur) == 0


async def test_prefilling_needs_one_scope_of_the_data_set(settings: Settings, simulateur: str) -> None:
    """API Particulier answers the fields the habilitation covers: one scope is enough to ask."""
    keys = await provisionner(
        settings,
        [
            OrganismeDeTest(
                "ccas-a", SIRET_A, habilitation=frozenset({"cnaf_allocataires", "cnaf_enfants"}), forcer=True
            )
        ],
        [("ccas-a", "logiciel", ["donnees"])],
    )
    async with open_gateway(settings) as client:
        donnees = await client.post(
            "/v1/donnees",
            json={"demandeur": MARTIN_AXELLE, "donnees": ["quotient_familial"]},
            headers=bearer(keys["logiciel"]),
        )
    assert donnees.status_code == 200, donnees.text
    assert await upstream_calls(simulateur) == 1


async def test_noisy_client_gets_429_with_retry_after_and_others_go_on(
    tmp_path: Path, simulateur: str
) -> None:
    settings = gateway_settings(
        tmp_path,
        api_particulier_url=simulateur,
        api_particulier_token="jeton-de-test",
        client_rate_limit_requests=2,
        client_rate_limit_window_seconds=3600,
    )
    keys = await provisionner(
        settings,
        [OrganismeDeTest("ccas-a", SIRET_A)],
        [("ccas-a", "bruyant", ["eligibilite"]), ("ccas-a", "calme", ["eligibilite"])],
    )
    async with open_gateway(settings) as client:
        statuses = [await _status(client, keys["bruyant"]) for _ in range(3)]
        refused = await client.get("/v1/reglement", headers=bearer(keys["bruyant"]))
        other = await _status(client, keys["calme"])

    assert statuses == [200, 200, 429]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "trop-de-requetes"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert other == 200
