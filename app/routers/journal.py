"""`GET /v1/journal`: the caller's organisme's consultations and decisions, filtered, paginated,
as JSON or CSV. Never another organisme's rows: the organisme is part of the query itself."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BeforeValidator

from app.dependencies import AGENT_ID_PATTERN, JournalAppelant, ServicesDep, agent_id_valide
from app.errors import FieldError, InvalidInput
from app.schemas import journal as schemas
from app.schemas.eligibilite import DOSSIER_REF_PATTERN, date_iso, reference_de_dossier_valide
from app.schemas.formats import BOM
from app.schemas.formats import cellule_csv as _cellule
from app.services.eligibilite import FUSEAU_CCAS
from app.services.journal import Journal
from app.services.journal.lecture import (
    ANNEE_MAX,
    ANNEE_MIN,
    CURSEUR_PATTERN,
    CurseurInvalide,
    EntreeJournal,
    FiltreJournal,
    PageJournal,
)

router = APIRouter(prefix="/v1", tags=["journal"])

COLONNES_CSV = (
    "consultation_id",
    "cree_le",
    "type",
    "statut",
    "client_id",
    "agent_id",
    "dossier_ref",
    "demandeur_pseudonyme",
    "decision_id",
    "reglement_id",
    "reglement_version",
    "reglement_empreinte",
    "resultats",
    "appels_fournisseurs",
)


#: What the contract says a day filter is: AAAA-MM-JJ, a year from 1900 to 2999 (ANNEE_MIN, ANNEE_MAX;
#: the route says which bound a well-formed date outside them misses).
DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"


def _debut_du_jour(jour: date) -> datetime:
    # Agents think in the town hall's civil days, not UTC's.
    return datetime.combine(jour, time.min, tzinfo=FUSEAU_CCAS)


Du = Annotated[
    date | None,
    Query(
        description="Premier jour inclus (AAAA-MM-JJ, heure de Paris) ; pas après `au`.",
        json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
    ),
    BeforeValidator(date_iso),
]
Au = Annotated[
    date | None,
    Query(
        description="Dernier jour inclus (AAAA-MM-JJ, heure de Paris) ; pas avant `du`.",
        json_schema_extra={"format": "date", "pattern": DATE_PATTERN},
    ),
    BeforeValidator(date_iso),
]
# Checked in the route (a French message naming the field), declared here so that the contract
# says exactly what is accepted.
DossierRefFiltre = Annotated[
    str | None,
    Query(description="Référence de dossier exacte.", json_schema_extra={"pattern": DOSSIER_REF_PATTERN}),
]
AgentFiltre = Annotated[
    str | None,
    Query(description="Identifiant d'agent exact.", json_schema_extra={"pattern": AGENT_ID_PATTERN}),
]
TypeFiltre = Annotated[
    Literal["eligibilite", "donnees", "simulation"] | None, Query(description="Type de consultation.")
]
Limite = Annotated[int, Query(ge=1, le=1000, description="Entrées par page.")]
Curseur = Annotated[
    str | None,
    Query(pattern=CURSEUR_PATTERN, description="`curseur_suivant` reçu (ou `X-Curseur-Suivant`)."),
]
Tout = Annotated[
    bool,
    Query(
        description="Toutes les entrées du filtre, en un seul flux CSV, sans pagination "
        "(implique le CSV, quel que soit `format`)."
    ),
]
Tableur = Annotated[
    bool,
    Query(
        description="CSV pour les tableurs français (Excel, LibreOffice) : séparateur `;` et "
        "marque d'ordre d'octets UTF-8 (BOM) en tête (implique le CSV, quel que soit `format`)."
    ),
]


#: What the 200 of `GET /v1/journal` says besides its JSON body: the CSV, and the next page's cursor.
REPONSE_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Une page du journal en JSON ; en CSV avec `format=csv` ou `Accept: text/csv` "
        "(colonnes : " + ", ".join(COLONNES_CSV) + ").",
        "content": {
            "text/csv": {
                "schema": {"type": "string", "description": "Le journal en CSV (RFC 4180, UTF-8)."},
                "example": ",".join(COLONNES_CSV) + "\r\n",
            }
        },
        "headers": {
            "X-Curseur-Suivant": {
                "description": "En CSV paginé : le curseur de la page suivante (absent à la dernière).",
                "schema": {"type": "string", "pattern": CURSEUR_PATTERN},
            },
            "Content-Disposition": {
                "description": 'En CSV : `attachment; filename="journal.csv"`.',
                "schema": {"type": "string"},
            },
        },
    }
}


@router.get(
    "/journal",
    operation_id="lire_journal",
    response_model=schemas.PageJournal,
    summary="Le journal d'audit de l'organisme (JSON ou CSV)",
    responses=REPONSE_200,
)
async def get_journal(
    *,
    services: ServicesDep,
    appelant: JournalAppelant,
    du: Du = None,
    au: Au = None,
    dossier_ref: DossierRefFiltre = None,
    agent_id: AgentFiltre = None,
    type: TypeFiltre = None,
    limite: Limite = 100,
    curseur: Curseur = None,
    format: Annotated[
        Literal["json", "csv"] | None,
        Query(description="Ou `Accept: text/csv` ; pour un client généré, préférez GET /v1/journal.csv."),
    ] = None,
    tout: Tout = False,
    tableur: Tableur = False,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> schemas.PageJournal | Response:
    """Consultations et décisions de l'organisme appelant, les plus récentes d'abord : qui (client,
    agent), quand, pour quel dossier, quels appels aux fournisseurs (avec leurs identifiants de
    requête), quel règlement et quels résultats. Le demandeur n'y figure que par un pseudonyme."""
    erreurs = [
        FieldError(nom, f"la date doit être comprise entre {ANNEE_MIN} et {ANNEE_MAX}")
        for nom, jour in (("du", du), ("au", au))
        if jour is not None and not ANNEE_MIN <= jour.year <= ANNEE_MAX
    ]
    if dossier_ref is not None and not reference_de_dossier_valide(dossier_ref):
        erreurs.append(FieldError("dossier_ref", "1 à 64 caractères parmi lettres, chiffres et . _ : / -"))
    if agent_id is not None and not agent_id_valide(agent_id):
        erreurs.append(FieldError("agent_id", "1 à 64 caractères parmi lettres, chiffres et . _ : @ -"))
    if erreurs:
        # A filter nothing can match (NUL bytes, year 1) is refused here, not by the database.
        raise InvalidInput.for_fields(erreurs)
    if du is not None and au is not None and du > au:
        raise InvalidInput.for_fields([FieldError("du", "la période commence après sa fin (au)")])
    filtre = FiltreJournal(
        du=_debut_du_jour(du) if du is not None else None,
        au=_debut_du_jour(au + timedelta(days=1)) if au is not None else None,
        dossier_ref=dossier_ref,
        agent_id=agent_id,
        type=type,
    )
    # `tout` and `tableur` exist only in CSV: asking for them is asking for CSV.
    en_csv = (
        tout or tableur or format == "csv" or (format is None and accept is not None and "text/csv" in accept)
    )
    separateur = ";" if tableur else ","
    try:
        page = await services.journal.lister(
            appelant.organisme.id, filtre, limite=PAGE_EXPORT if tout else limite, curseur=curseur
        )
    except CurseurInvalide:
        raise InvalidInput.for_fields(
            [FieldError("curseur", "curseur de pagination invalide : reprenez celui d'une réponse")]
        ) from None
    if tout:
        return StreamingResponse(
            _csv_complet(services.journal, appelant.organisme.id, filtre, page, separateur, bom=tableur),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="journal.csv"'},
        )
    if en_csv:
        return _csv(page, separateur, bom=tableur)
    return schemas.PageJournal(
        entrees=[_entree(e) for e in page.entrees], curseur_suivant=page.curseur_suivant
    )


@router.get(
    "/journal.csv",
    operation_id="exporter_journal_csv",
    response_class=Response,
    summary="Le journal d'audit de l'organisme en CSV",
    responses={200: {**REPONSE_200[200], "description": "Le journal en CSV (RFC 4180, UTF-8)."}},
)
async def get_journal_csv(
    *,
    services: ServicesDep,
    appelant: JournalAppelant,
    du: Du = None,
    au: Au = None,
    dossier_ref: DossierRefFiltre = None,
    agent_id: AgentFiltre = None,
    type: TypeFiltre = None,
    limite: Limite = 100,
    curseur: Curseur = None,
    tout: Tout = False,
    tableur: Tableur = False,
) -> Response:
    """Le même journal que GET /v1/journal, toujours en CSV (une seule représentation : ce que les
    clients générés attendent) ; `tableur=true` pour Excel ou LibreOffice en français."""
    reponse = await get_journal(
        services=services,
        appelant=appelant,
        du=du,
        au=au,
        dossier_ref=dossier_ref,
        agent_id=agent_id,
        type=type,
        limite=limite,
        curseur=curseur,
        format="csv",
        tout=tout,
        tableur=tableur,
    )
    assert isinstance(reponse, Response)  # noqa: S101 - format="csv" answers CSV
    return reponse


def _entree(entree: EntreeJournal) -> schemas.EntreeJournal:
    return schemas.EntreeJournal(
        consultation_id=entree.consultation_id,
        cree_le=entree.cree_le,
        type=entree.type,
        statut=entree.statut,
        client_id=entree.client_id,
        agent_id=entree.agent_id,
        dossier_ref=entree.dossier_ref,
        demandeur_pseudonyme=entree.demandeur_pseudonyme,
        appels_fournisseurs=[
            schemas.AppelFournisseurJournal(
                fournisseur=a.fournisseur,
                endpoint=a.endpoint,
                issue=a.issue,
                request_id=a.request_id,
                statut_http=a.statut_http,
                depuis_cache=a.depuis_cache,
            )
            for a in entree.appels_fournisseurs
        ],
        decision_id=entree.decision_id,
        reglement_id=entree.reglement_id,
        reglement_version=entree.reglement_version,
        reglement_empreinte=entree.reglement_empreinte,
        resultats=[schemas.ResultatJournal(dispositif=d, statut=s) for d, s in entree.resultats],
    )


def _lignes_csv(entrees: Iterable[EntreeJournal], *, entete: bool, separateur: str = ",") -> str:
    sortie = io.StringIO()
    ecrivain = csv.writer(sortie, delimiter=separateur, lineterminator="\r\n")
    if entete:
        ecrivain.writerow(COLONNES_CSV)
    for e in entrees:
        ecrivain.writerow(
            [
                _cellule(v)
                for v in (
                    e.consultation_id,
                    e.cree_le.isoformat(),
                    e.type,
                    e.statut,
                    e.client_id,
                    e.agent_id,
                    e.dossier_ref,
                    e.demandeur_pseudonyme,
                    e.decision_id,
                    e.reglement_id,
                    e.reglement_version,
                    e.reglement_empreinte,
                    " | ".join(f"{d}={s}" for d, s in e.resultats),
                    " | ".join(
                        f"{a.fournisseur} {a.endpoint} {a.issue} {a.request_id or ''}".rstrip()
                        for a in e.appels_fournisseurs
                    ),
                )
            ]
        )
    return sortie.getvalue()


#: Entries read per query while streaming a complete export: memory stays bounded.
PAGE_EXPORT = 1000


async def _csv_complet(
    journal: Journal,
    organisme_id: str,
    filtre: FiltreJournal,
    premiere: PageJournal,
    separateur: str,
    *,
    bom: bool,
) -> AsyncIterator[str]:
    """Every entry of the filter, page after page (keyset cursor), as one CSV document."""
    yield (BOM if bom else "") + _lignes_csv(premiere.entrees, entete=True, separateur=separateur)
    curseur = premiere.curseur_suivant
    while curseur is not None:
        page = await journal.lister(organisme_id, filtre, limite=PAGE_EXPORT, curseur=curseur)
        yield _lignes_csv(page.entrees, entete=False, separateur=separateur)
        curseur = page.curseur_suivant


def _csv(page: PageJournal, separateur: str, *, bom: bool) -> Response:
    headers = {"Content-Disposition": 'attachment; filename="journal.csv"'}
    if page.curseur_suivant is not None:
        headers["X-Curseur-Suivant"] = page.curseur_suivant
    contenu = (BOM if bom else "") + _lignes_csv(page.entrees, entete=True, separateur=separateur)
    return Response(contenu, media_type="text/csv; charset=utf-8", headers=headers)
