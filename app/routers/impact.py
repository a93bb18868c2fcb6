"""`POST /v1/simulations/impact`: a proposed règlement replayed on the caller's organisme's past
decisions — the summary in JSON, or the changed decisions as a streamed CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse

from app.dependencies import ServicesDep, SimulationsAppelant
from app.errors import ComputationTimeout
from app.schemas.formats import BOM, cellule_csv
from app.schemas.impact import DemandeImpact, ImpactReglement
from app.schemas.problem import erreurs
from app.services.impact import Changement, Proposition, bilan_json, depuis_parametres, depuis_yaml

router = APIRouter(prefix="/v1", tags=["simulations"])

COLONNES_CSV = (
    "decision_id",
    "dossier_ref",
    "dispositif",
    "type",
    "statut_avant",
    "montant_avant",
    "tranche_avant",
    "statut_apres",
    "montant_apres",
    "tranche_apres",
    "raison",
)

REPONSE_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Le bilan en JSON ; avec `format=csv`, `tableur=true` ou `Accept: text/csv`, "
        "les résultats changés, comptés à part ou en alerte d'intégrité, un par ligne, en flux "
        "(colonnes : " + ", ".join(COLONNES_CSV) + ").",
        "content": {
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "Les résultats changés en CSV (RFC 4180, UTF-8).",
                },
                "example": ",".join(COLONNES_CSV) + "\r\n",
            }
        },
        "headers": {
            "Content-Disposition": {
                "description": 'En CSV : `attachment; filename="impact.csv"`.',
                "schema": {"type": "string"},
            }
        },
    }
}


@router.post(
    "/simulations/impact",
    operation_id="mesurer_impact_reglement",
    response_model=ImpactReglement,
    summary="Rejouer les décisions passées de l'organisme sous un règlement proposé",
    responses={**REPONSE_200, **erreurs(503)},
)
async def post_impact(  # noqa: PLR0917 - FastAPI's parameters, like GET /v1/journal's
    demande: DemandeImpact,
    appelant: SimulationsAppelant,
    services: ServicesDep,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Ou `Accept: text/csv`.")] = None,
    tableur: Annotated[
        bool,
        Query(
            description="CSV pour les tableurs français : séparateur `;` et BOM UTF-8 en tête "
            "(implique le CSV)."
        ),
    ] = False,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ImpactReglement | Response:
    """Avant le vote du conseil d'administration : chaque décision de l'organisme dans la période
    est rejouée avec ses propres faits journalisés, sous le règlement avec lequel elle a été rendue
    (elle doit redonner exactement son résultat : sinon, une alerte d'intégrité) et sous la
    proposition. Le bilan donne, par dispositif et au total, les statuts avant et après, les
    transitions, les montants et leur différence, les tranches ; les résultats que la proposition
    ne peut évaluer (donnée non collectée à l'époque) sont comptés à part. Aucun appel aux
    fournisseurs ; le demandeur n'apparaît que par sa référence de dossier."""
    organisme = appelant.organisme
    proposition: Proposition
    if demande.reglement is not None:
        proposition = await anyio.to_thread.run_sync(depuis_yaml, demande.reglement, demande.date_effet)
    else:
        assert demande.parametres is not None  # noqa: S101 - validated with date_effet
        assert demande.date_effet is not None  # noqa: S101
        proposition = depuis_parametres(organisme.reglement, demande.parametres, demande.date_effet)
    rejeu = await services.impact.preparer(
        organisme, proposition, demande.du, demande.au, demande.dispositifs
    )
    en_csv = tableur or format == "csv" or (format is None and accept is not None and "text/csv" in accept)
    if en_csv:
        return StreamingResponse(
            _csv(services.impact.changements(rejeu), ";" if tableur else ",", bom=tableur),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="impact.csv"'},
        )
    delai = services.settings.impact_timeout_seconds
    try:
        with anyio.fail_after(delai):
            bilan = await services.impact.mesurer(rejeu)
    except TimeoutError:
        raise ComputationTimeout(
            f"La mesure d'impact n'a pas abouti dans le temps de calcul admis ({delai:g} s) : "
            "raccourcissez la période, ou demandez le CSV (servi au fil de l'eau)."
        ) from None
    return ImpactReglement.model_validate(bilan_json(bilan))


def _montant(valeur: object) -> str:
    return "" if valeur is None else f"{valeur:f}"


def lignes_csv(changements: Iterable[Changement], *, entete: bool, separateur: str = ",") -> str:
    """The CSV lines of changed results (shared with `eg reglement impact --csv`)."""
    sortie = io.StringIO()
    ecrivain = csv.writer(sortie, delimiter=separateur, lineterminator="\r\n")
    if entete:
        ecrivain.writerow(COLONNES_CSV)
    for c in changements:
        apres = c.apres
        ecrivain.writerow(
            [
                cellule_csv(v)
                for v in (
                    c.decision_id,
                    c.dossier_ref,
                    c.dispositif,
                    c.type,
                    c.avant.statut,
                    _montant(c.avant.montant),
                    c.avant.tranche,
                    None if apres is None else apres.statut,
                    None if apres is None else _montant(apres.montant),
                    None if apres is None else apres.tranche,
                    c.raison,
                )
            ]
        )
    return sortie.getvalue()


async def _csv(pages: AsyncIterator[list[Changement]], separateur: str, *, bom: bool) -> AsyncIterator[str]:
    yield (BOM if bom else "") + lignes_csv((), entete=True, separateur=separateur)
    async for lignes in pages:
        yield lignes_csv(lignes, entete=False, separateur=separateur)
