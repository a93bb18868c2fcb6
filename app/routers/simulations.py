"""`POST /v1/simulations`: what-if evaluation on supplied facts; no upstream call, nothing journaled."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter

from app.dependencies import SimulationsAppelant
from app.errors import FieldError, InvalidInput
from app.rules.engine import DispositifInconnu, ParametreSansValeur, evaluer
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.simulation import FaitsInvalides, lire_faits_simules
from app.schemas.problem import PROBLEM_RESPONSES
from app.schemas.simulation import DemandeSimulation, ResultatSimulation
from app.services.eligibilite import FUSEAU_CCAS

router = APIRouter(prefix="/v1", tags=["simulations"])


@router.post(
    "/simulations",
    response_model=ResultatSimulation,
    summary="Simuler le règlement (ou un règlement proposé) sur des faits supposés",
    responses=PROBLEM_RESPONSES,
)
async def post_simulation(demande: DemandeSimulation, appelant: SimulationsAppelant) -> ResultatSimulation:
    """Pour les rédacteurs de règlements et les « et si l'on relevait le plafond ? » : aucune
    donnée n'est demandée aux fournisseurs, rien n'est journalisé."""
    reglement = appelant.organisme.reglement
    if demande.reglement is not None:
        try:
            reglement = lire_reglement(demande.reglement, "reglement-propose.yaml")
        except ReglementInvalide as e:
            raise InvalidInput.for_fields([FieldError("reglement", str(e))]) from None
    try:
        faits = lire_faits_simules(demande.faits, reglement.catalogue)
    except FaitsInvalides as e:
        erreurs = [FieldError(f"faits.{champ}", message) for champ, message in e.erreurs]
        raise InvalidInput.for_fields(erreurs) from None
    date_reference = demande.date_reference or datetime.now(UTC).astimezone(FUSEAU_CCAS).date()
    try:
        evaluation = evaluer(reglement, faits, date_reference, demande.dispositifs)
    except DispositifInconnu as e:
        raise InvalidInput.for_fields([FieldError("dispositifs", str(e))]) from None
    except ParametreSansValeur as e:
        raise InvalidInput.for_fields([FieldError("date_reference", str(e))]) from None
    return ResultatSimulation.model_validate(
        {
            "date_reference": evaluation.date_reference,
            "reglement": asdict(evaluation.reglement),
            "resultats": [asdict(r) for r in evaluation.resultats],
            "parametres_appliques": [asdict(p) for p in evaluation.parametres_appliques],
        }
    )
