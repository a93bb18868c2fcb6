"""`POST /v1/simulations`: what-if evaluation on supplied facts; no upstream call, nothing journaled."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import anyio
import anyio.to_thread
from fastapi import APIRouter

from app.dependencies import ServicesDep, SimulationsAppelant
from app.errors import ComputationTimeout, FieldError, InvalidInput
from app.rules.budget import BUDGET_TRAVAIL, travail
from app.rules.engine import DispositifInconnu, ParametreSansValeur, evaluer
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.model import Reglement
from app.rules.simulation import FaitsInvalides, lire_faits_simules
from app.schemas.problem import erreurs
from app.schemas.simulation import DemandeSimulation, ResultatSimulation
from app.services.eligibilite import FUSEAU_CCAS

router = APIRouter(prefix="/v1", tags=["simulations"])


@router.post(
    "/simulations",
    operation_id="simuler_reglement",
    response_model=ResultatSimulation,
    summary="Simuler le règlement (ou un règlement proposé) sur des faits supposés",
    responses=erreurs(),
)
async def post_simulation(
    demande: DemandeSimulation, appelant: SimulationsAppelant, services: ServicesDep
) -> ResultatSimulation:
    """Pour les rédacteurs de règlements et les « et si l'on relevait le plafond ? » : aucune
    donnée n'est demandée aux fournisseurs, rien n'est journalisé."""
    # Off the event loop (other callers keep being served during a heavy simulation), under a
    # wall-clock budget on top of the work budget; an abandoned thread ends within the latter.
    delai = services.settings.simulation_timeout_seconds
    try:
        with anyio.fail_after(delai):
            return await anyio.to_thread.run_sync(
                _simuler, demande, appelant.organisme.reglement, abandon_on_cancel=True
            )
    except TimeoutError:
        raise ComputationTimeout(
            f"La simulation n'a pas abouti dans le temps de calcul admis ({delai:g} s) : "
            "réessayez, ou simplifiez le règlement proposé."
        ) from None


def _simuler(demande: DemandeSimulation, reglement: Reglement) -> ResultatSimulation:
    """Parse, check the work budget, evaluate (CPU only, run in a worker thread)."""
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
    if (cout := travail(reglement, faits)) > BUDGET_TRAVAIL:
        raise InvalidInput.for_fields(
            [
                FieldError(
                    "reglement" if demande.reglement is not None else "faits",
                    f"la simulation dépasse le budget de calcul ({cout} étapes condition × personne "
                    f"pour {BUDGET_TRAVAIL} admises) : moins de conditions ou moins de personnes",
                )
            ]
        )
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
