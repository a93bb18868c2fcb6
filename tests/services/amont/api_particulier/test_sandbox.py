"""Every official sandbox case, sent through the client to the built-in simulator.

Each case must give the parsed data and facts its payload holds, or the exception its error maps
to. The few cases no valid call can reach (misspelled keys in the upstream data) are listed with
the reason, so a case that silently stops being exercised fails this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from app.errors import (
    InvalidInput,
    UpstreamError,
    UpstreamMisconfigured,
    UpstreamPersonNotFound,
    UpstreamRateLimited,
    UpstreamRejectedInput,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.rules.dates import DatePartielle
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier import (
    AccesApiParticulier,
    ApiParticulierClient,
    donnees_pre_remplissage,
    faits_quotient_familial,
    identite_correspond,
)
from app.services.amont.api_particulier import facts as faits_module
from app.simulators.api_particulier.app import create_simulator_app
from app.simulators.api_particulier.fixtures import FixtureCase, load_fixtures
from app.simulators.api_particulier.state import SimulatorConfig

# A Thursday noon: no Sunday-evening maintenance, and May 2026 (a sandbox case) is a past month.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
SIRET = "13002526500013"
CLIENT_METHODS = {
    "quotient_familial",
    "revenu_solidarite_active",
    "prime_activite",
    "allocation_adulte_handicape",
    "allocation_soutien_familial",
    "complementaire_sante_solidaire",
}
EXCEPTION_BY_STATUS: dict[int, type[UpstreamError]] = {
    403: UpstreamMisconfigured,
    404: UpstreamPersonNotFound,
    422: UpstreamRejectedInput,
    429: UpstreamRateLimited,
    502: UpstreamUnavailable,
    504: UpstreamTimeout,
}
BENEFIT_FACTS = {
    "revenu_solidarite_active": ("faits_revenu_solidarite_active", "beneficiaire_rsa"),
    "prime_activite": ("faits_prime_activite", "beneficiaire_prime_activite"),
    "allocation_adulte_handicape": ("faits_allocation_adulte_handicape", "beneficiaire_aah"),
    "allocation_soutien_familial": ("faits_allocation_soutien_familial", "beneficiaire_asf"),
    "complementaire_sante_solidaire": ("faits_complementaire_sante_solidaire", "beneficiaire_c2s"),
}
#: Sandbox answers whose allocataire is not the person asked for: the guard must refuse them.
IDENTITE_DISCORDANTE = {
    "200-couple-2_enfants-qf_msa_150_sept2024.yaml",  # asked 1987-06-27, answered 1978-06-27
    "200-etranger-celibataire-2_enfants-qf_cnaf_300_sept2024.yaml",  # asked SIMPSON, answered BROWN
}
#: The endpoint's fallback case: it has no first name, so the client refuses it before any call.
REFUSE_LOCALEMENT = {("/v3/dss/quotient_familial/identite", "404.yaml")}
INATTEIGNABLES = {
    ("/v3/dss/quotient_familial/france_connect", "404.yaml"),
    ("/v3/dss/revenu_solidarite_active/identite", "404.yaml"),
    ("/v3/dss/revenu_solidarite_active/identite", "429.yaml"),
    ("/v3/dss/revenu_solidarite_active/identite", "502.yaml"),
    ("/v3/dss/revenu_solidarite_active/identite", "504.yaml"),
    ("/v3/dss/revenu_solidarite_active/france_connect", "404.yaml"),
    ("/v3/dss/revenu_solidarite_active/france_connect", "france_connect_cnaf.yaml"),
    ("/v3/dss/complementaire_sante_solidaire/identite", "200-giraud-ines-feminin-enfant.yaml"),
    (
        "/v3/dss/complementaire_sante_solidaire/identite",
        "beneficiaire_sans_participation_financiere_homme_200.yml",
    ),
}
CASES = [c for c in load_fixtures() if c.raison_inatteignable is None]


def test_every_sandbox_case_is_driven_or_known_unreachable() -> None:
    unreachable = {(c.endpoint, c.fichier) for c in load_fixtures() if c.raison_inatteignable}
    assert unreachable == INATTEIGNABLES
    assert len(CASES) >= 100
    assert {c.endpoint.split("/")[3] for c in CASES} == CLIENT_METHODS


def demandeur(params: dict[str, Any]) -> Demandeur:
    parts = [params.get(k) for k in ("anneeDateNaissance", "moisDateNaissance", "jourDateNaissance")]
    known = [int(p) for p in parts if p is not None]
    date_naissance = "-".join([f"{known[0]:04d}", *(f"{p:02d}" for p in known[1:])]) if known else None
    return Demandeur.model_construct(
        nom_naissance=params["nomNaissance"],
        nom_usage=params.get("nomUsage"),
        prenoms=list(params.get("prenoms", [])),
        sexe=params["sexeEtatCivil"].upper(),
        date_naissance=date_naissance,
        code_cog_insee_pays_naissance=params["codeCogInseePaysNaissance"],
        code_cog_insee_commune_naissance=params.get("codeCogInseeCommuneNaissance"),
        nom_commune_naissance=params.get("nomCommuneNaissance"),
        code_cog_insee_departement_naissance=params.get("codeCogInseeDepartementNaissance"),
        numero_fiscal=None,
        annee_des_revenus=None,
    )


def vue_attendue(donnee: str, data: dict[str, Any]) -> dict[str, Any]:
    """The pre-filling view, derived from the raw payload independently of the client's models."""

    def date(text: str | None) -> str | None:
        parsed = DatePartielle.parse_upstream(text)
        return parsed.isoformat() if parsed else None

    def personne(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "nom_naissance": p["nom_naissance"],
            "nom_usage": p["nom_usage"],
            "prenoms": p["prenoms"],
            "date_naissance": date(p["date_naissance"]),
            "sexe": p["sexe"],
        }

    if donnee != "quotient_familial":
        return {donnee: {k: date(v) if k == "date_debut_droit" else v for k, v in data.items()}}
    vue: dict[str, Any] = {"quotient_familial": data["quotient_familial"]}
    for key in ("allocataires", "enfants"):
        vue[key] = [personne(p) for p in data[key]]
    vue["adresse"] = {k: (v or None) for k, v in data["adresse"].items()}
    return vue


@pytest.fixture
async def client() -> AsyncIterator[ApiParticulierClient]:
    app = create_simulator_app(SimulatorConfig(clock=lambda: NOW, period_mode="static"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://simulateur") as http:
        yield ApiParticulierClient(http, base_url="http://simulateur", today=NOW.date)


async def call(client: ApiParticulierClient, case: FixtureCase) -> Any:
    donnee, modalite = case.endpoint.removeprefix("/v3/dss/").split("/")
    params = dict(case.params)
    periode = {k: int(params[k]) for k in ("annee", "mois") if k in params}
    if modalite == "france_connect":
        jeton = SecretStr(case.france_connect_tokens[0])
        return await getattr(client, f"{donnee}_france_connect")(jeton, recipient=SIRET, **periode)
    acces = AccesApiParticulier(token=SecretStr("jeton-bac-a-sable"), recipient=SIRET)
    return await getattr(client, donnee)(demandeur(params), acces, **periode)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.endpoint.removeprefix('/v3/dss/')}:{c.fichier}" for c in CASES]
)
async def test_sandbox_case(client: ApiParticulierClient, case: FixtureCase) -> None:
    donnee, modalite = case.endpoint.removeprefix("/v3/dss/").split("/")

    if (case.endpoint, case.fichier) in REFUSE_LOCALEMENT:
        with pytest.raises(InvalidInput):
            await call(client, case)
        return

    if case.status != 200:
        with pytest.raises(UpstreamError) as caught:
            await call(client, case)
        assert type(caught.value) is EXCEPTION_BY_STATUS[case.status]
        assert caught.value.upstream_code == case.payload["errors"][0]["code"]
        assert caught.value.request_id
        return

    reponse = await call(client, case)
    data = case.payload["data"]
    assert reponse.provenance.statut_http == 200
    assert reponse.provenance.request_id
    assert donnees_pre_remplissage(reponse) == vue_attendue(donnee, data)

    if donnee == "quotient_familial":
        faits = faits_quotient_familial(reponse)
        qf = data["quotient_familial"]
        assert faits["quotient_familial_caf"].valeur == Decimal(qf["valeur"])
        assert faits["quotient_familial_caf"].source.fournisseur == qf["fournisseur"]
        assert faits["quotient_familial_caf"].source.periode == f"{qf['annee']:04d}-{qf['mois']:02d}"
        assert len(faits["enfants"].valeur) == len(data["enfants"])  # type: ignore[arg-type]
        if modalite == "identite":
            attendu = case.fichier not in IDENTITE_DISCORDANTE
            assert identite_correspond(demandeur(dict(case.params)), reponse.donnees.allocataires) is attendu
    else:
        function, fact = BENEFIT_FACTS[donnee]
        faits = getattr(faits_module, function)(reponse)
        assert faits[fact].valeur is data["est_beneficiaire"]
        assert faits[fact].source.fournisseur == "Sécurité sociale"
