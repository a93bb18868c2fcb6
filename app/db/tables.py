"""Tables of the audit journal (one row per consultation, one per decision rendered) and of the
organismes, their clients and API keys.

No column holds a name, birth date, address or numéro fiscal: the applicant appears only as a keyed
pseudonym. Alembic migrations (app/db/migrations) create these tables; a test checks they agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names fixed by convention, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

TYPES_CONSULTATION = ("eligibilite", "donnees", "simulation")
STATUTS_CONSULTATION = ("succes", "echec")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every database: stored in UTC, read back aware.

    SQLite has no time zone type and returns naive values; this makes both databases behave alike
    and refuses naive datetimes, whose meaning would depend on the server's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("horodatage sans fuseau horaire refusé")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ConsultationRow(Base):
    """One call of a client on behalf of an organisme, with the upstream calls it caused."""

    __tablename__ = "consultations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisme_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    dossier_ref: Mapped[str | None] = mapped_column(String(128))
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    type: Mapped[str] = mapped_column(String(16))
    #: HMAC of the normalised identity, keyed per organisme: groups an applicant's consultations
    #: without identifying them.
    demandeur_pseudonyme: Mapped[str | None] = mapped_column(String(64))
    appels_fournisseurs: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    statut: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint(_in("type", TYPES_CONSULTATION), name="type"),
        CheckConstraint(_in("statut", STATUTS_CONSULTATION), name="statut"),
        # GET /v1/journal always filters by organisme, then by period or dossier.
        Index("ix_consultations_organisme_id_cree_le", "organisme_id", "cree_le"),
        Index("ix_consultations_organisme_id_dossier_ref", "organisme_id", "dossier_ref"),
        # The retention purge deletes by age across organismes.
        Index("ix_consultations_cree_le", "cree_le"),
    )


class DecisionRow(Base):
    """The decision record returned to the caller, kept whole so it can be replayed and audited."""

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # CASCADE: the retention purge removes a consultation and its decision together.
    consultation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("consultations.id", ondelete="CASCADE"), unique=True
    )
    organisme_id: Mapped[str] = mapped_column(String(64))
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    date_reference: Mapped[date] = mapped_column(Date)
    dossier_ref: Mapped[str | None] = mapped_column(String(128))
    reglement_id: Mapped[str] = mapped_column(String(128))
    reglement_version: Mapped[str] = mapped_column(String(64))
    reglement_empreinte: Mapped[str] = mapped_column(String(80))
    #: Id of the journal key that encrypted `rejeu` and `contenu_chiffre`.
    cle_journal: Mapped[str | None] = mapped_column(String(64), default=None)
    #: What replaying the decision reads (its facts and each aid's verdict, compact JSON: see
    #: app/services/journal/rejeu.py), encrypted under `cle_journal` like `contenu_chiffre`, in clear
    #: when the record is. NULL for rows written before it (replayed from the whole record).
    #: Stored before the whole record (migration 0008): on SQLite, reading it does not walk the
    #: record's overflow pages.
    rejeu: Mapped[str | None] = mapped_column(Text, default=None)
    #: In clear: with the id, date and règlement columns, what survives the loss of every journal
    #: key (each aid's status). The whole record when it was written without encryption.
    contenu: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    #: The whole record (facts and certified data included), Fernet-encrypted (issue 13).
    contenu_chiffre: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        # By organisme and date, then id: the keyset order an impact replay pages in (issue 17),
        # so that each page reads its own rows from the index, not the rest of the period.
        Index("ix_decisions_organisme_id_cree_le_id", "organisme_id", "cree_le", "id"),
        Index("ix_decisions_cree_le", "cree_le"),
    )


class ReglementArchiveRow(Base):
    """Every règlement an organisme has decided with, kept whole (issue 17): a decision names its
    règlement by id, version and fingerprint, and replaying it (`POST /v1/simulations/impact`) needs
    that very text even after the organisme's file has moved on. Written when a worker loads it."""

    __tablename__ = "reglements_archives"

    organisme_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: "sha256:<hex>" of the règlement's canonical content, as the decisions carry it.
    empreinte: Mapped[str] = mapped_column(String(80), primary_key=True)
    reglement_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    #: The YAML text as loaded (it parses back to the same fingerprint), Fernet-encrypted with the
    #: journal's key ring like the decisions (a règlement's test cases may name people).
    texte_chiffre: Mapped[str] = mapped_column(Text)
    #: Id of the journal key that encrypted it.
    cle_journal: Mapped[str] = mapped_column(String(64))
    archive_le: Mapped[datetime] = mapped_column(UtcDateTime)


class OrganismeRow(Base):
    """A CCAS served by the gateway. Its upstream secrets are stored encrypted (Fernet), never in clear."""

    __tablename__ = "organismes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nom: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str] = mapped_column(String(14))
    #: Path of its règlement file, absolute or relative to REGLEMENTS_DIR: the file stays the source
    #: of truth (versioned, reviewed, tested), the database only says which one applies.
    reglement: Mapped[str] = mapped_column(String(500))
    api_particulier_token_chiffre: Mapped[str | None] = mapped_column(Text)
    impot_client_id: Mapped[str | None] = mapped_column(String(200))
    impot_client_secret_chiffre: Mapped[str | None] = mapped_column(Text)
    #: Upstream scopes granted by its habilitations (JSON list); NULL means "not restricted here".
    scopes_habilitation: Mapped[list[str] | None] = mapped_column(JSON)
    #: What its letters and notices print (address, service, DPO, signatory, retention, appeals):
    #: a JSON object set by `eg organisme coordonnees` (issue 16); NULL until then.
    coordonnees: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True), default=None)
    #: Bumped by every change (`organisme recharger` too): workers reload an organisme whose version moved.
    version: Mapped[int] = mapped_column(Integer)
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    modifie_le: Mapped[datetime] = mapped_column(UtcDateTime)


class ClientRow(Base):
    """The business software of one organisme; its scopes bound what its API keys may do."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisme_id: Mapped[str] = mapped_column(String(64), ForeignKey("organismes.id"))
    nom: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    revoque_le: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_clients_organisme_id", "organisme_id"),)


class CleApiRow(Base):
    """One API key of a client, as its SHA-256 digest only. A key works while it is neither revoked
    nor expired: a rotation gives the old key an `expire_le` (the overlap) instead of revoking it."""

    __tablename__ = "cles_api"

    empreinte: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("clients.id"))
    #: The key's first characters, enough for an operator to tell keys apart in a listing.
    prefixe: Mapped[str] = mapped_column(String(12))
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    expire_le: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoquee_le: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_cles_api_client_id", "client_id"),)


ETATS_CAMPAGNE = ("en_cours", "terminee", "annulee")
ETATS_LIGNE = ("en_attente", "en_cours", "faite", "echec", "annulee")


class CampagneRow(Base):
    """A campaign: a file of applicants decided line by line by the workers (issue 18).

    The file itself is never kept: each valid line is stored encrypted in `campagne_lignes` until
    it is done; the invalid ones are only counted (their reasons were in the 202 answer)."""

    __tablename__ = "campagnes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisme_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    cree_le: Mapped[datetime] = mapped_column(UtcDateTime)
    date_reference: Mapped[date | None] = mapped_column(Date)
    #: The aids evaluated (JSON list), NULL for every aid of the règlement.
    dispositifs: Mapped[list[str] | None] = mapped_column(JSON)
    etat: Mapped[str] = mapped_column(String(16))
    total_lignes: Mapped[int] = mapped_column(Integer)
    lignes_invalides: Mapped[int] = mapped_column(Integer)
    #: Why the workers wait (maintenance, breaker open, quota…), NULL while they run.
    pause_motif: Mapped[str | None] = mapped_column(String(300))
    termine_le: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint(_in("etat", ETATS_CAMPAGNE), name="etat"),
        Index("ix_campagnes_organisme_id_cree_le", "organisme_id", "cree_le"),
    )


class CampagneLigneRow(Base):
    """One applicant of a campaign: its encrypted request until it is done, then its outcome."""

    __tablename__ = "campagne_lignes"

    campagne_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campagnes.id", ondelete="CASCADE"), primary_key=True
    )
    #: The line's number in the file (1 is the first line after a CSV header).
    numero: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dossier_ref: Mapped[str | None] = mapped_column(String(128))
    etat: Mapped[str] = mapped_column(String(16))
    #: The request (identity, numéro fiscal, declared facts), Fernet-encrypted like the cache;
    #: NULL once the line is done, failed or cancelled.
    charge_chiffree: Mapped[str | None] = mapped_column(Text)
    #: When a worker took the line (a lease: past it, another worker may take it over).
    pris_le: Mapped[datetime | None] = mapped_column(UtcDateTime)
    tentatives: Mapped[int] = mapped_column(Integer)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fait_le: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Amount, bracket and motif of each aid, Fernet-encrypted (the statuses are in clear below).
    resultats_chiffres: Mapped[str | None] = mapped_column(Text)
    erreur_code: Mapped[str | None] = mapped_column(String(64))
    erreur_detail: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint(_in("etat", ETATS_LIGNE), name="etat"),
        Index("ix_campagne_lignes_campagne_id_etat", "campagne_id", "etat"),
    )


class CampagneResultatRow(Base):
    """Each aid's status for one line of a campaign: what the counts by aid and status read."""

    __tablename__ = "campagne_resultats"

    campagne_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("campagnes.id", ondelete="CASCADE"), primary_key=True
    )
    numero: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dispositif: Mapped[str] = mapped_column(String(128), primary_key=True)
    statut: Mapped[str] = mapped_column(String(16))
