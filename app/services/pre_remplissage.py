"""The pre-filling flow (`POST /v1/donnees`): certified data only, no rules, journaled as a consultation."""

from __future__ import annotations

from app.errors import FieldError, InvalidInput
from app.schemas.donnees import JEUX_DE_DONNEES, DemandeDonnees, ReponseDonnees
from app.schemas.eligibilite import DonneeIndisponible
from app.services.consultation import ServiceDeConsultation, trace_consultation
from app.services.organismes import Appelant


class PreRemplissageService(ServiceDeConsultation):
    async def consulter(
        self, demande: DemandeDonnees, appelant: Appelant, *, agent_id: str | None
    ) -> ReponseDonnees:
        disponibles = self._collecte.donnees_prises_en_charge
        demandees = frozenset(demande.donnees or disponibles)
        # A catalogued data set this gateway does not obtain is reported unavailable, not refused.
        inconnues = sorted(demandees - disponibles - frozenset(JEUX_DE_DONNEES))
        if inconnues:
            raise InvalidInput.for_fields(
                [
                    FieldError(
                        "donnees",
                        f"données inconnues : {', '.join(inconnues)} "
                        f"(disponibles : {', '.join(sorted(disponibles))})",
                    )
                ]
            )
        organisme = appelant.organisme
        # A decision that cannot be journaled is a 503: no upstream quota is spent on it.
        await self._journal.verifier_disponible()
        collecte = await self._collecte.collecter(
            demande.demandeur, organisme, demandees, date_reference=demande.date_reference
        )
        echecs = [d.erreur for d in collecte.donnees_indisponibles if d.erreur is not None]
        consultation = trace_consultation(
            collecte,
            appelant=appelant,
            demandeur=demande.demandeur,
            keyring=self._keyring,
            type_consultation="donnees",
            agent_id=agent_id,
            dossier_ref=demande.dossier_ref,
            cree_le=self._now(),
        )
        await self._journal.enregistrer(consultation)
        if not collecte.donnees and echecs:
            # Nothing to pre-fill and no rules to degrade into: the upstream failure is the answer
            # (404 person not found, 503 provider down, 504 timeout), once it has been journaled.
            raise echecs[0]
        return ReponseDonnees(
            id=consultation.id,
            dossier_ref=demande.dossier_ref,
            donnees=collecte.donnees,
            donnees_indisponibles=[
                DonneeIndisponible(donnee=d.donnee, code=d.code, raison=d.raison)
                for d in collecte.donnees_indisponibles
            ],
        )
