"""The journal's record types, shared by its writer, its reader and the flows that fill them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

TypeConsultation = Literal["eligibilite", "donnees", "simulation"]
StatutConsultation = Literal["succes", "echec"]

JOURNAL_UNAVAILABLE_DETAIL = "Le journal d'audit est indisponible : la décision n'a pas été rendue."

#: Column widths of app/db/tables.py, checked before writing so a too-long reference is a programming
#: error raised at once (ValueError), not a database failure turned into a 503.
_MAX_LENGTHS = {
    "organisme_id": 64,
    "client_id": 64,
    "agent_id": 128,
    "dossier_ref": 128,
    "demandeur_pseudonyme": 64,
    "reglement_id": 128,
    "reglement_version": 64,
    "reglement_empreinte": 80,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _check(record: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str) and len(value) > _MAX_LENGTHS[name]:
            raise ValueError(f"{name} dépasse {_MAX_LENGTHS[name]} caractères")
    cree_le = getattr(record, "cree_le", None)
    if isinstance(cree_le, datetime) and cree_le.tzinfo is None:
        raise ValueError("cree_le doit porter un fuseau horaire")


@dataclass(frozen=True, slots=True)
class AppelFournisseur:
    """One upstream call made (or answered from cache) for a consultation."""

    endpoint: str  # e.g. "/v3/dss/quotient_familial/identite": never a URL with its query string
    fournisseur: str  # "api_particulier", "impot_particulier"
    issue: str  # outcome code: "ok", "personne-introuvable", "fournisseur-hors-delai"…
    request_id: str | None = None
    statut_http: int | None = None
    depuis_cache: bool = False
    duree_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ConsultationRecord:
    """A consultation: who asked, for which dossier, and which upstream calls it took."""

    organisme_id: str
    type: TypeConsultation
    statut: StatutConsultation
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    cree_le: datetime = field(default_factory=_now)
    client_id: str | None = None
    agent_id: str | None = None
    dossier_ref: str | None = None
    #: `KeyRing.pseudonyme(...)`, never an identity.
    demandeur_pseudonyme: str | None = None
    appels_fournisseurs: tuple[AppelFournisseur, ...] = ()

    def __post_init__(self) -> None:
        _check(self, ("organisme_id", "client_id", "agent_id", "dossier_ref", "demandeur_pseudonyme"))


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """The decision record as returned to the caller (`contenu`), with its règlement's identity."""

    consultation_id: uuid.UUID
    organisme_id: str
    date_reference: date
    reglement_id: str
    reglement_version: str
    reglement_empreinte: str
    #: The whole record served by GET /v1/decisions/{id}. JSON-ready preferably
    #: (`model_dump(mode="json")`); Decimal, dates and UUIDs are stored as text either way. A
    #: `DocumentJson` is stored as the encoding it carries.
    contenu: Mapping[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    cree_le: datetime = field(default_factory=_now)
    dossier_ref: str | None = None

    def __post_init__(self) -> None:
        _check(
            self, ("organisme_id", "dossier_ref", "reglement_id", "reglement_version", "reglement_empreinte")
        )
