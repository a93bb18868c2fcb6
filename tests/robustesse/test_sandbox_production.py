"""Issue 13, point 3: a PostgreSQL database first used in sandbox mode, then switched to production.

Before: the operator followed the gateway's own start-up advice (`organisme create --remplacer`),
the demo client kept every scope and `demo-ccas-cle-publique` made real upstream calls in
production. Now `--remplacer` says what to do with the clients, and production refuses to start
while any demo client or the public demo key is still valid, naming `organisme retirer-demo`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from app.config import DEFAULT_DEMO_API_KEY
from app.db.engine import create_engine_from_url
from app.errors import ConfigurationError
from app.services.organismes import ChiffrementSecrets
from app.services.organismes.administration import (
    DEMO_ORGANISME_ID,
    AdministrationOrganismes,
    AdministrationRefusee,
    NouvelOrganisme,
)
from tests.conftest import gateway_settings, open_gateway
from tests.db.postgres import throwaway_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEMO = {"Authorization": f"Bearer {DEFAULT_DEMO_API_KEY}"}
SECRET_PRODUCTION = "une-cle-de-production-de-plus-de-32-caracteres-0123"


@pytest.fixture
def base() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


def _production(tmp_path: Path, base: str, simulateur: str) -> dict[str, object]:
    return {
        "gateway_mode": "production",
        "database_url": base,
        "gateway_secret_key": SECRET_PRODUCTION,
        "cache_encryption_keys": Fernet.generate_key().decode(),
        "api_particulier_url": simulateur,
        "api_particulier_token": "jeton-de-production",
        "allow_insecure_upstream_http": True,  # the loopback simulator stands for API Particulier
        "gateway_demo_api_key": DEFAULT_DEMO_API_KEY,
    }


async def test_the_demo_never_opens_a_database_switched_to_production(
    tmp_path: Path, base: str, simulateur: str
) -> None:
    # 1. Sandbox on this database: the public demo key works, with every scope.
    bac_a_sable = gateway_settings(tmp_path, database_url=base, gateway_demo_api_key=DEFAULT_DEMO_API_KEY)
    async with open_gateway(bac_a_sable) as gw:
        assert (await gw.get("/v1/journal", headers=DEMO)).status_code == 200

    # 2. The operator re-creates the demo organisme with production secrets, as the start-up
    # advice says: `--remplacer` alone no longer keeps the demo client's keys and scopes.
    engine = create_engine_from_url(base)
    admin = AdministrationOrganismes(
        engine, ChiffrementSecrets(SecretStr(SECRET_PRODUCTION)), reglements_dir=ROOT / "reglements"
    )
    remplacement = NouvelOrganisme(
        id=DEMO_ORGANISME_ID,
        nom="CCAS réel",
        siret="26999000800006",
        reglement="demo.yaml",
        api_particulier_token=SecretStr("jeton-de-production"),
    )
    try:
        with pytest.raises(AdministrationRefusee, match="--revoquer-clients"):
            await admin.creer_organisme(remplacement, remplacer=True)
        # Told explicitly to keep them: production still refuses to start, and says how to fix it.
        await admin.creer_organisme(remplacement, remplacer=True, clients="garder")
    finally:
        await engine.dispose()
    production = gateway_settings(tmp_path, **_production(tmp_path, base, simulateur))
    with pytest.raises(ConfigurationError, match="organisme retirer-demo") as refus:
        async with open_gateway(production):
            pass
    assert "demo-ccas-cle-publique" not in str(refus.value)  # named, never printed

    # 3. The command the message names.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "API_", "REDIS", "DATABASE"))}
    env |= {"DATABASE_URL": base, "GATEWAY_SECRET_KEY": SECRET_PRODUCTION}
    sortie = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", "organisme", "retirer-demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Démonstration retirée" in sortie.stdout

    # 4. Production starts; the public demo key no longer opens anything.
    async with open_gateway(production) as gw:
        assert (await gw.get("/v1/journal", headers=DEMO)).status_code == 401
        reponse = await gw.post(
            "/v1/eligibilite",
            headers=DEMO,
            json={"demandeur": {"nom_naissance": "X"}, "dispositifs": ["aide-alimentaire"]},
        )
        assert reponse.status_code == 401
    async with httpx.AsyncClient(base_url=simulateur) as http:
        assert (await http.get("/__simulateur/compteurs")).json()["total"] == 0


async def test_revoking_clients_on_replace_is_explicit_too(tmp_path: Path, base: str) -> None:
    async with open_gateway(gateway_settings(tmp_path, database_url=base)):
        pass
    engine = create_engine_from_url(base)
    admin = AdministrationOrganismes(
        engine, ChiffrementSecrets(SecretStr(SECRET_PRODUCTION)), reglements_dir=ROOT / "reglements"
    )
    try:
        nouvel = NouvelOrganisme(
            id=DEMO_ORGANISME_ID, nom="CCAS réel", siret="26999000800006", reglement="demo.yaml"
        )
        await admin.creer_organisme(nouvel, remplacer=True, clients="revoquer")
        assert await admin.traces_de_demo([SecretStr(DEFAULT_DEMO_API_KEY)]) == []
    finally:
        await engine.dispose()
