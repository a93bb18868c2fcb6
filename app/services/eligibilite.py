"""The eligibility flow: which data the règlement needs → fetch → evaluate → journal → answer.

No decision leaves this service without its journal record: the record is written (consultation
and decision in one transaction) before the answer is returned, and a journal failure is a 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.errors import FieldError, InvalidInput
from app.rules.engine import DispositifInconnu, ParametreSansValeur, evaluer, verifier_applicable
from app.rules.explain import mention
from app.rules.facts import Fait, Faits, Source
from app.rules.needs import besoins
from app.rules.results import Evaluation
from app.rules.serialization import faits_vers_dict
from app.schemas.eligibilite import Decision, DemandeEligibilite, DonneeIndisponible
from app.services.collecte import Collecte, trace_consultation
from app.services.donnees import CollecteDonnees, faits_de_la_demande
from app.services.journal import DecisionRecord, Journal
from app.services.keys import KeyRing
from app.services.organismes import Appelant

#: The civil date of a decision is the one of the town hall, not UTC's.
FUSEAU_CCAS = ZoneInfo("Europe/Paris")


class EligibiliteService:
    def __init__(
        self,
        *,
        collecte: CollecteDonnees,
        journal: Journal,
        keyring: KeyRing,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._collecte = collecte
        self._journal = journal
        self._keyring = keyring
        self._now = now

    async def evaluer(
        self, demande: DemandeEligibilite, appelant: Appelant, *, agent_id: str | None
    ) -> Decision:
        organisme = appelant.organisme
        reglement = organisme.reglement
        cree_le = self._now()
        date_reference = demande.date_reference or cree_le.astimezone(FUSEAU_CCAS).date()
        # Everything the request names is checked before any upstream quota is spent.
        try:
            verifier_applicable(reglement, date_reference, demande.dispositifs)
        except DispositifInconnu as e:
            raise InvalidInput.for_fields([FieldError("dispositifs", str(e))]) from None
        except ParametreSansValeur as e:
            raise InvalidInput.for_fields([FieldError("date_reference", str(e))]) from None
        besoin = besoins(reglement, demande.dispositifs)

        collecte = await self._collecte.collecter(demande.demandeur, organisme, besoin.donnees)
        faits = Faits(
            connus={
                **collecte.faits,
                **faits_de_la_demande(demande.demandeur),
                **_faits_declares(demande),
            },
            indisponibles=collecte.indisponibles,
        )
        evaluation = evaluer(reglement, faits, date_reference, demande.dispositifs)
        decision = _decision(
            evaluation,
            decision_id=uuid.uuid4(),
            cree_le=cree_le,
            dossier_ref=demande.dossier_ref,
            collecte=collecte,
            mention_texte=mention(reglement),
        )
        contenu = decision.model_dump(mode="json", exclude={"donnees"})
        contenu["faits"] = faits_vers_dict(faits)
        consultation = trace_consultation(
            collecte,
            appelant=appelant,
            demandeur=demande.demandeur,
            keyring=self._keyring,
            type_consultation="eligibilite",
            agent_id=agent_id,
            dossier_ref=demande.dossier_ref,
            cree_le=cree_le,
        )
        record = DecisionRecord(
            id=decision.id,
            consultation_id=consultation.id,
            organisme_id=organisme.id,
            cree_le=cree_le,
            date_reference=date_reference,
            dossier_ref=demande.dossier_ref,
            reglement_id=evaluation.reglement.id,
            reglement_version=evaluation.reglement.version,
            reglement_empreinte=evaluation.reglement.empreinte,
            contenu=contenu,
        )
        await self._journal.enregistrer(consultation, record)
        decision.donnees = collecte.donnees or None
        return decision


def _faits_declares(demande: DemandeEligibilite) -> dict[str, Fait]:
    source = Source(fournisseur="declaratif", certifie=False)
    return {nom: Fait(valeur=valeur, source=source) for nom, valeur in demande.declaratif.faits().items()}


def _decision(
    evaluation: Evaluation,
    *,
    decision_id: uuid.UUID,
    cree_le: datetime,
    dossier_ref: str | None,
    collecte: Collecte,
    mention_texte: str,
) -> Decision:
    return Decision.model_validate(
        {
            "reglement": asdict(evaluation.reglement),
            "resultats": [asdict(r) for r in evaluation.resultats],
            "parametres_appliques": [asdict(p) for p in evaluation.parametres_appliques],
            "id": decision_id,
            "cree_le": cree_le,
            "date_reference": evaluation.date_reference,
            "dossier_ref": dossier_ref,
            "donnees_indisponibles": [
                DonneeIndisponible(donnee=d.donnee, code=d.code, raison=d.raison)
                for d in collecte.donnees_indisponibles
            ],
            "mention": mention_texte,
        }
    )
