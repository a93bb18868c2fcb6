"""Collecting certified data for one applicant: check everything, then fetch only what is needed.

Used by both `POST /v1/eligibilite` (facts for the règlement) and `POST /v1/donnees` (pre-filling).
An upstream failure an agent can work around (person not found, provider down) makes the data set
*unavailable* with a French reason, so that the aids depending on it become `a_verifier`; a failure
that is ours or the caller's (credentials, rejected parameters) propagates as a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.errors import FieldError, InvalidInput, PermissionDenied
from app.rules import explain
from app.rules.facts import CATALOGUE_FAITS, Fait, Source
from app.rules.needs import scopes_manquants
from app.schemas.demandeur import Demandeur
from app.services.amont.api_particulier.params import erreurs_identite, erreurs_recipient
from app.services.amont.collecte import Collecte
from app.services.amont.deadline import DEFAULT_BUDGET_SECONDS, echeance
from app.services.amont.impot_particulier import NumeroFiscal
from app.services.amont.impot_particulier.calendrier import annee_des_revenus_disponible
from app.services.amont.source_caf import SourceCaf
from app.services.amont.source_impot import DONNEE_IMPOT, SourceImpot
from app.services.organismes import Organisme

#: The scopes of each upstream data set: holding one of them lets the provider answer the data set.
_SCOPES_PAR_DONNEE: dict[str, frozenset[str]] = {}
for _definition in CATALOGUE_FAITS.values():
    if _definition.donnee is not None and _definition.scope is not None:
        _SCOPES_PAR_DONNEE[_definition.donnee] = _SCOPES_PAR_DONNEE.get(_definition.donnee, frozenset()) | {
            _definition.scope
        }


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
        self,
        demandeur: Demandeur,
        organisme: Organisme,
        donnees: frozenset[str],
        scopes: frozenset[str] | None = None,
    ) -> NumeroFiscal | None:
        """Every check that can refuse the request, before any upstream quota is spent.

        `scopes` are those the request's facts read (`needs.scopes_requis`): each must be held.
        Without them (pre-filling), a data set needs only one of its scopes: the provider answers
        the fields the habilitation covers."""
        _verifier_habilitation(organisme, donnees, scopes)
        erreurs: list[FieldError] = []
        if donnees & self._caf.donnees:
            erreurs += erreurs_recipient(organisme.siret, champ="organisme.siret (recipient)")
            erreurs += erreurs_identite(demandeur, self._today())
        if erreurs:
            raise InvalidInput.for_fields(erreurs)
        return self._impot.valider(demandeur) if self._impot is not None else None

    async def collecter(
        self,
        demandeur: Demandeur,
        organisme: Organisme,
        donnees: frozenset[str],
        scopes: frozenset[str] | None = None,
        date_reference: date | None = None,
    ) -> Collecte:
        """The data in force at `date_reference` (today when absent or in the current month).

        For a past month: the QF of that month (API Particulier serves the current year, N-1 and
        N-2), the income year DGFiP served on that date (22 July rule); a datum known only as it is
        today (a benefit's current status) is never used for a past date: `a_verifier`, with why."""
        numero_fiscal = self.verifier(demandeur, organisme, donnees, scopes)
        a_date = AuMois.de(date_reference, self._today())
        collecte = Collecte()
        # One deadline for every upstream wait of this request: quotas, coalescing, retries (issue 6).
        with echeance(self._budget):
            for donnee in sorted(donnees):
                if donnee in self._caf.donnees:
                    await self._collecter_caf(collecte, donnee, demandeur, organisme, a_date)
                elif donnee == DONNEE_IMPOT and self._impot is not None:
                    await self._collecter_impot(collecte, demandeur, organisme, numero_fiscal, a_date)
                else:
                    collecte.marquer_indisponible(
                        donnee,
                        "donnee-non-prise-en-charge",
                        "Cette donnée n'est pas obtenue automatiquement par la passerelle : "
                        "elle doit être justifiée sur pièce.",
                    )
        return collecte

    async def _collecter_caf(
        self,
        collecte: Collecte,
        donnee: str,
        demandeur: Demandeur,
        organisme: Organisme,
        a_date: AuMois | None,
    ) -> None:
        if a_date is None:
            await self._caf.collecter(collecte, donnee, demandeur, organisme)
        elif donnee != "quotient_familial":
            collecte.marquer_indisponible(
                donnee,
                "periode-non-disponible",
                f"La CAF/MSA ne donne que la situation actuelle de cette prestation, postérieure à la "
                f"date de référence ({explain.jour(a_date.date_reference)}) : elle n'est pas utilisée ; "
                "la situation à cette date doit être justifiée sur pièce.",
            )
        elif a_date.annee < self._today().year - 2:
            collecte.marquer_indisponible(
                donnee,
                "periode-non-disponible",
                f"Le quotient familial de {a_date.libelle} ne peut plus être demandé à la CAF/MSA "
                "(API Particulier ne sert que l'année en cours et les deux précédentes) : il doit être "
                "justifié sur pièce (attestation de quotient familial de ce mois).",
            )
        else:
            await self._caf.collecter(
                collecte, donnee, demandeur, organisme, periode=(a_date.annee, a_date.mois)
            )

    async def _collecter_impot(
        self,
        collecte: Collecte,
        demandeur: Demandeur,
        organisme: Organisme,
        numero_fiscal: NumeroFiscal | None,
        a_date: AuMois | None,
    ) -> None:
        assert self._impot is not None  # noqa: S101 - checked by the caller
        if a_date is None:
            await self._impot.collecter(collecte, demandeur, organisme, numero_fiscal)
            return
        servie = annee_des_revenus_disponible(a_date.date_reference)
        demandee = demandeur.annee_des_revenus
        if demandee is not None and demandee > servie:
            collecte.marquer_indisponible(
                DONNEE_IMPOT,
                "periode-non-disponible",
                f"Les revenus {demandee} n'étaient pas encore connus de l'administration fiscale le "
                f"{explain.jour(a_date.date_reference)} (date de référence) : ils ne sont pas utilisés.",
            )
            return
        await self._impot.collecter(
            collecte, demandeur, organisme, numero_fiscal, annee_des_revenus=demandee or servie
        )


@dataclass(frozen=True, slots=True)
class AuMois:
    """A reference date in a past month: the data must be those of that month, not today's."""

    date_reference: date

    @staticmethod
    def de(date_reference: date | None, aujourd_hui: date) -> AuMois | None:
        """None when today's data are those of the reference date (absent, this month or later)."""
        if date_reference is None or (date_reference.year, date_reference.month) >= (
            aujourd_hui.year,
            aujourd_hui.month,
        ):
            return None
        return AuMois(date_reference)

    @property
    def annee(self) -> int:
        return self.date_reference.year

    @property
    def mois(self) -> int:
        return self.date_reference.month

    @property
    def libelle(self) -> str:
        return explain.periode(f"{self.annee:04d}-{self.mois:02d}") or ""


def _verifier_habilitation(
    organisme: Organisme, donnees: frozenset[str], scopes: frozenset[str] | None
) -> None:
    habilitation = organisme.scopes_habilitation
    if habilitation is None:
        return
    manquants: set[str] = set()
    if scopes is not None:
        manquants.update(scopes_manquants(scopes, habilitation))
    else:
        for donnee in donnees:
            du_jeu = _SCOPES_PAR_DONNEE.get(donnee, frozenset())
            if du_jeu and not du_jeu & habilitation:
                manquants |= du_jeu
    if manquants:
        raise PermissionDenied(
            "L'habilitation de l'organisme ne couvre pas les données nécessaires : "
            + ", ".join(sorted(manquants))
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
