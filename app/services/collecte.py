"""What was gathered for one applicant: facts, unavailable data (with why), and the upstream trace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.errors import UpstreamError
from app.rules.facts import CATALOGUE_FAITS, Fait, FaitIndisponible
from app.schemas.demandeur import Demandeur
from app.services.journal import AppelFournisseur, ConsultationRecord, TypeConsultation
from app.services.keys import KeyRing
from app.services.organismes import Appelant


@dataclass(frozen=True, slots=True)
class DonneeIndisponible:
    """A data set that could not be used; `erreur` is the upstream failure, when there was one."""

    donnee: str
    code: str
    raison: str
    erreur: UpstreamError | None = None


@dataclass(slots=True)
class Collecte:
    faits: dict[str, Fait] = field(default_factory=dict)
    indisponibles: dict[str, FaitIndisponible] = field(default_factory=dict)
    appels: list[AppelFournisseur] = field(default_factory=list)
    donnees: dict[str, Any] = field(default_factory=dict)
    donnees_indisponibles: list[DonneeIndisponible] = field(default_factory=list)

    def marquer_indisponible(
        self, donnee: str, code: str, raison: str, erreur: UpstreamError | None = None
    ) -> None:
        """Every base fact of `donnee` becomes unavailable, so the aids needing it are `a_verifier`."""
        self.donnees_indisponibles.append(DonneeIndisponible(donnee, code, raison, erreur))
        for nom, definition in CATALOGUE_FAITS.items():
            if definition.donnee == donnee:
                self.faits.pop(nom, None)
                self.indisponibles[nom] = FaitIndisponible(code=code, raison=raison)


def trace_consultation(
    collecte: Collecte,
    *,
    appelant: Appelant,
    demandeur: Demandeur,
    keyring: KeyRing,
    type_consultation: TypeConsultation,
    agent_id: str | None,
    dossier_ref: str | None,
    cree_le: datetime,
) -> ConsultationRecord:
    """The journal's record of one consultation: who asked, for whom (a keyed pseudonym, never the
    identity), and every upstream exchange with its request id."""
    organisme_id = appelant.organisme.id
    return ConsultationRecord(
        id=uuid.uuid4(),
        organisme_id=organisme_id,
        client_id=appelant.client.id,
        agent_id=agent_id,
        dossier_ref=dossier_ref,
        cree_le=cree_le,
        type=type_consultation,
        demandeur_pseudonyme=keyring.pseudonyme(
            organisme_id,
            demandeur.nom_naissance,
            " ".join(demandeur.prenoms),
            demandeur.date_naissance or "",
            demandeur.code_cog_insee_pays_naissance,
        ),
        appels_fournisseurs=tuple(collecte.appels),
        statut="succes" if collecte.donnees else "echec",
    )
