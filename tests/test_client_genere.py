"""The round trip of an integrator: a client generated from the gateway's own OpenAPI document
(openapi-python-client, as an editor of CCAS software would) makes a decision, reads it back, gets a
422 as a typed `Probleme` with its code, and downloads the journal's CSV."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from app.simulators.server import serve_simulator
from tests.conftest import DEMO_KEY, gateway_settings
from tests.routers.test_eligibilite import MARTIN_AXELLE

PAQUET = "client_passerelle"


@pytest.fixture(scope="module")
def client_genere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    dossier = tmp_path_factory.mktemp("client")
    document = create_app(gateway_settings(dossier)).openapi()
    (dossier / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (dossier / "config.json").write_text(json.dumps({"package_name_override": PAQUET, "post_hooks": []}))
    generateur = Path(sys.executable).parent / "openapi-python-client"
    resultat = subprocess.run(  # noqa: S603 - the dev dependency's own command, our own files
        [
            str(generateur),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.json",
            "--meta",
            "none",
            "--output-path",
            PAQUET,
            "--fail-on-warning",
        ],
        cwd=dossier,
        capture_output=True,
        text=True,
        check=False,
    )
    assert resultat.returncode == 0, resultat.stdout + resultat.stderr
    sys.path.insert(0, str(dossier))
    try:
        yield importlib.import_module(PAQUET)
    finally:
        sys.path.remove(str(dossier))
        for nom in [m for m in sys.modules if m == PAQUET or m.startswith(PAQUET + ".")]:
            del sys.modules[nom]


@pytest.fixture
async def passerelle(tmp_path: Path) -> AsyncIterator[str]:
    app = create_app(gateway_settings(tmp_path))
    async with LifespanManager(app, startup_timeout=30) as manager, serve_simulator(manager.app) as base_url:
        yield base_url


def _module(client_genere: ModuleType, nom: str) -> Any:
    return importlib.import_module(f"{client_genere.__name__}.{nom}")


async def test_a_generated_client_makes_reads_fails_typed_and_downloads(
    client_genere: ModuleType, passerelle: str
) -> None:
    modeles = _module(client_genere, "models")
    evaluer = _module(client_genere, "api.eligibilite.evaluer_eligibilite")
    relire = _module(client_genere, "api.decisions.relire_decision")
    exporter = _module(client_genere, "api.journal.exporter_journal_csv")
    client = client_genere.AuthenticatedClient(base_url=passerelle, token=DEMO_KEY)

    async with client:
        demande = modeles.DemandeEligibilite.from_dict({"demandeur": MARTIN_AXELLE, "dossier_ref": "D-1"})
        decision = await evaluer.asyncio(client=client, body=demande, idempotency_key=str(uuid.uuid4()))
        relue = await relire.asyncio(client=client, decision_id=decision.id)
        fautive = modeles.DemandeEligibilite.from_dict(
            {"demandeur": MARTIN_AXELLE, "dispositifs": ["inconnu"]}
        )
        refus = await evaluer.asyncio_detailed(client=client, body=fautive)
        journal = await exporter.asyncio_detailed(client=client, tableur=True)

    assert isinstance(decision, modeles.Decision)
    assert decision.resultats
    assert decision.reglement.empreinte.startswith("sha256:")
    assert isinstance(relue, modeles.DecisionJournalisee)
    assert relue.id == decision.id
    assert relue.faits.connus.additional_properties  # the facts used, with their sources
    assert refus.status_code == 422
    assert isinstance(refus.parsed, modeles.Probleme)
    assert refus.parsed.code == modeles.ProblemeCode.DONNEES_INVALIDES
    assert refus.parsed.erreurs[0].champ == "dispositifs"
    assert journal.status_code == 200
    texte = journal.content.decode("utf-8-sig")
    assert texte.startswith("consultation_id;cree_le;type")
    assert str(decision.id) in texte
