"""Collecting certified data for one applicant: check everything, then fetch only what is needed.

Used by both `POST /v1/eligibilite` (facts for the règlement) and `POST /v1/donnees` (pre-filling).
An upstream failure an agent can work around (person not found, provider down) makes the data set
*unavailable* with a French reason, so that the aids depending on it become `a_verifier`; a failure
that is ours or the caller's (credentials, rejected parameters) propagates as a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from app.errors import FieldError, InvalidInput, PermissionDenied
from app.rules.facts import CATALOGUE_FAITS, Fait, Source
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier.params import erreurs_identite, erreurs_recipient
from app.services.amont.collecte import Collecte
from app.services.amont.deadline import DEFAULT_BUDGET_SECONDS, echeance
from app.services.amont.impot_particulier import NumeroFiscal
from app.services.amont.source_caf import SourceCaf
from app.services.amont.source_impot import DONNEE_IMPOT, SourceImpot
from app.services.organismes import Organisme


class CollecteDonnees:
    """Dispatches each needed data set to its source (API Particulier, API Impôt particulier)."""

    def __init__(
        self,
        *,
        caf: SourceCaf,
        impot: SourceImpot | None,
        today: Callable[[], date] = date.today,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    ) -> None:
        self._caf = caf
        self._impot = impot
        self._today = today
        self._budget = budget_seconds

    @property
    def donnees_prises_en_charge(self) -> frozenset[str]:
        return self._caf.donnees | ({DONNEE_IMPOT} if self._impot is not None else set())

    def verifier(
        self, demandeur: Demandeur, organisme: Organisme, donnees: frozenset[str]
    ) -> NumeroFiscal | None:
        """Every check that can refuse the request, before any upstream quota is spent."""
        _verifier_habilitation(organisme, donnees)
        erreurs: list[FieldError] = []
        if donnees & self._caf.donnees:
            erreurs += erreurs_recipient(organisme.siret, champ="organisme.siret (recipient)")
            erreurs += erreurs_identite(demandeur, self._today())
        if erreurs:
            raise InvalidInput.for_fields(erreurs)
        return self._impot.valider(demandeur) if self._impot is not None else None

    async def collecter(
        self, demandeur: Demandeur, organisme: Organisme, donnees: frozenset[str]
    ) -> Collecte:
        numero_fiscal = self.verifier(demandeur, organisme, donnees)
        collecte = Collecte()
        # One deadline for every upstream wait of this request: quotas, coalescing, retries (issue 6).
        with echeance(self._budget):
            for donnee in sorted(donnees):
                if donnee in self._caf.donnees:
                    await self._caf.collecter(collecte, donnee, demandeur, organisme)
                elif donnee == DONNEE_IMPOT and self._impot is not None:
                    await self._impot.collecter(collecte, demandeur, organisme, numero_fiscal)
                else:
                    collecte.marquer_indisponible(
                        donnee,
                        "donnee-non-prise-en-charge",
                        "Cette donnée n'est pas obtenue automatiquement par la passerelle : "
                        "elle doit être justifiée sur pièce.",
                    )
        return collecte


def _verifier_habilitation(organisme: Organisme, donnees: frozenset[str]) -> None:
    if organisme.scopes_habilitation is None:
        return
    requis = {d.scope for d in CATALOGUE_FAITS.values() if d.donnee in donnees and d.scope is not None}
    manquants = sorted(requis - organisme.scopes_habilitation)
    if manquants:
        raise PermissionDenied(
            "L'habilitation de l'organisme ne couvre pas les données nécessaires : "
            + ", ".join(manquants)
            + ". Aucun appel n'a été fait au fournisseur."
        )


def faits_de_la_demande(demandeur: Demandeur) -> dict[str, Fait]:
    """Facts taken from the request itself (not certified, but used to match the provider)."""
    partielle = demandeur.date_naissance_partielle
    if partielle is None:
        return {}
    return {
        "date_naissance_demandeur": Fait(
            valeur=partielle, source=Source(fournisseur="demande", certifie=False)
        )
    }
