"""Where campaigns live: the campaign, its lines (encrypted request until done, then the outcome)
and each aid's status per line. PostgreSQL in production, SQLite embedded, through SQLAlchemy Core.

A line moves `en_attente` → `en_cours` (taken by one worker, for a lease) → `faite` | `echec`, or
`annulee`. Taking a line is one conditional UPDATE: two workers never hold the same line, and a
line whose worker died is taken again once its lease is over.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.tables import CampagneLigneRow, CampagneResultatRow, CampagneRow

EtatCampagne = Literal["en_cours", "terminee", "annulee"]

#: Lines read per query when the results are exported.
_PAGE_EXPORT = 500
#: Failed lines listed by `GET /v1/campagnes/{id}` (the export has them all).
ECHECS_LISTES = 100


def _maintenant() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Campagne:
    id: uuid.UUID
    organisme_id: str
    client_id: str | None
    cree_le: datetime
    date_reference: date | None
    dispositifs: list[str] | None
    etat: EtatCampagne
    total_lignes: int
    lignes_invalides: int
    pause_motif: str | None
    termine_le: datetime | None


@dataclass(frozen=True, slots=True)
class Echec:
    numero: int
    dossier_ref: str | None
    code: str
    detail: str


@dataclass(slots=True)
class Avancement:
    """What `GET /v1/campagnes/{id}` reports, read in a few grouped queries."""

    par_etat: dict[str, int] = field(default_factory=dict)
    #: dispositif → statut → lines.
    par_dispositif: dict[str, dict[str, int]] = field(default_factory=dict)
    echecs: list[Echec] = field(default_factory=list)
    premiere_faite: datetime | None = None
    derniere_faite: datetime | None = None
    faites_derniere_minute: int = 0


@dataclass(frozen=True, slots=True)
class Prise:
    """The outcome of trying to take a line: `prise` (with its encrypted request), `finie` (done,
    failed or cancelled: nothing to do) or `occupee` (another worker holds its lease)."""

    etat: Literal["prise", "finie", "occupee"]
    charge_chiffree: str | None = None
    #: How many times the line was taken, this time included: 1 means no earlier attempt, so no
    #: decision of it can be in the journal yet.
    tentatives: int = 0


@dataclass(frozen=True, slots=True)
class LigneExportee:
    numero: int
    dossier_ref: str | None
    etat: str
    decision_id: uuid.UUID | None
    resultats_chiffres: str | None
    erreur_code: str | None
    erreur_detail: str | None


def _campagne(row: Any) -> Campagne:
    return Campagne(
        id=row.id,
        organisme_id=row.organisme_id,
        client_id=row.client_id,
        cree_le=row.cree_le,
        date_reference=row.date_reference,
        dispositifs=list(row.dispositifs) if row.dispositifs is not None else None,
        etat=row.etat,
        total_lignes=row.total_lignes,
        lignes_invalides=row.lignes_invalides,
        pause_motif=row.pause_motif,
        termine_le=row.termine_le,
    )


_T = cast(Table, CampagneRow.__table__)
_L = cast(Table, CampagneLigneRow.__table__)
_R = cast(Table, CampagneResultatRow.__table__)


class StockageCampagnes:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def creer(
        self,
        *,
        organisme_id: str,
        client_id: str | None,
        date_reference: date | None,
        dispositifs: list[str] | None,
    ) -> uuid.UUID:
        campagne_id = uuid.uuid4()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(_T).values(
                    id=campagne_id,
                    organisme_id=organisme_id,
                    client_id=client_id,
                    cree_le=_maintenant(),
                    date_reference=date_reference,
                    dispositifs=dispositifs,
                    etat="en_cours",
                    total_lignes=0,
                    lignes_invalides=0,
                    pause_motif=None,
                    termine_le=None,
                )
            )
        return campagne_id

    async def ajouter_lignes(
        self, campagne_id: uuid.UUID, lignes: Sequence[tuple[int, str | None, str]]
    ) -> None:
        """(number, dossier_ref, encrypted request) of valid lines, queued (`en_attente`)."""
        if not lignes:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(_L),
                [
                    {
                        "campagne_id": campagne_id,
                        "numero": numero,
                        "dossier_ref": dossier_ref,
                        "etat": "en_attente",
                        "charge_chiffree": charge,
                        "pris_le": None,
                        "tentatives": 0,
                        "decision_id": None,
                        "fait_le": None,
                        "resultats_chiffres": None,
                        "erreur_code": None,
                        "erreur_detail": None,
                    }
                    for numero, dossier_ref, charge in lignes
                ],
            )

    async def fixer_totaux(self, campagne_id: uuid.UUID, *, valides: int, invalides: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_T)
                .where(_T.c.id == campagne_id)
                .values(total_lignes=valides, lignes_invalides=invalides)
            )

    async def supprimer(self, campagne_id: uuid.UUID) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(_R).where(_R.c.campagne_id == campagne_id))
            await connection.execute(delete(_L).where(_L.c.campagne_id == campagne_id))
            await connection.execute(delete(_T).where(_T.c.id == campagne_id))

    async def lire(self, campagne_id: uuid.UUID, organisme_id: str | None = None) -> Campagne | None:
        """The campaign; with `organisme_id`, only if it is that organisme's (else None)."""
        condition = _T.c.id == campagne_id
        if organisme_id is not None:
            condition = and_(condition, _T.c.organisme_id == organisme_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(_T).where(condition))).first()
        return None if row is None else _campagne(row)

    async def lister(self, organisme_id: str, *, limite: int) -> list[Campagne]:
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(_T)
                    .where(_T.c.organisme_id == organisme_id)
                    .order_by(_T.c.cree_le.desc(), _T.c.id)
                    .limit(limite)
                )
            ).all()
        return [_campagne(row) for row in rows]

    async def inachevees(self) -> list[Campagne]:
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(_T).where(_T.c.etat == "en_cours"))).all()
        return [_campagne(row) for row in rows]

    async def numeros_a_faire(self, campagne_id: uuid.UUID) -> list[int]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(_L.c.numero)
                .where(_L.c.campagne_id == campagne_id, _L.c.etat.in_(("en_attente", "en_cours")))
                .order_by(_L.c.numero)
            )
            return [int(n) for n in rows.scalars()]

    async def avancement(self, campagne_id: uuid.UUID) -> Avancement:
        avancement = Avancement()
        il_y_a_une_minute = _maintenant() - timedelta(minutes=1)
        async with self._engine.connect() as connection:
            for etat, nombre in await connection.execute(
                select(_L.c.etat, func.count()).where(_L.c.campagne_id == campagne_id).group_by(_L.c.etat)
            ):
                avancement.par_etat[etat] = int(nombre)
            for dispositif, statut, nombre in await connection.execute(
                select(_R.c.dispositif, _R.c.statut, func.count())
                .where(_R.c.campagne_id == campagne_id)
                .group_by(_R.c.dispositif, _R.c.statut)
            ):
                avancement.par_dispositif.setdefault(dispositif, {})[statut] = int(nombre)
            premiere, derniere = (
                await connection.execute(
                    select(func.min(_L.c.fait_le), func.max(_L.c.fait_le)).where(
                        _L.c.campagne_id == campagne_id, _L.c.fait_le.is_not(None)
                    )
                )
            ).one()
            avancement.premiere_faite, avancement.derniere_faite = premiere, derniere
            avancement.faites_derniere_minute = int(
                (
                    await connection.execute(
                        select(func.count()).where(
                            _L.c.campagne_id == campagne_id, _L.c.fait_le >= il_y_a_une_minute
                        )
                    )
                ).scalar_one()
            )
            rows = await connection.execute(
                select(_L.c.numero, _L.c.dossier_ref, _L.c.erreur_code, _L.c.erreur_detail)
                .where(_L.c.campagne_id == campagne_id, _L.c.etat == "echec")
                .order_by(_L.c.numero)
                .limit(ECHECS_LISTES)
            )
            avancement.echecs = [Echec(r[0], r[1], r[2] or "", r[3] or "") for r in rows]
        # SQLite reads timestamps back naive: they were written in UTC.
        for nom in ("premiere_faite", "derniere_faite"):
            valeur = getattr(avancement, nom)
            if valeur is not None and valeur.tzinfo is None:
                setattr(avancement, nom, valeur.replace(tzinfo=UTC))
        return avancement

    async def prendre(self, campagne_id: uuid.UUID, numero: int, *, bail_seconds: float) -> Prise:
        maintenant = _maintenant()
        ligne = and_(_L.c.campagne_id == campagne_id, _L.c.numero == numero)
        libre = or_(
            _L.c.etat == "en_attente",
            and_(_L.c.etat == "en_cours", _L.c.pris_le < maintenant - timedelta(seconds=bail_seconds)),
        )
        async with self._engine.begin() as connection:
            prise = (
                await connection.execute(
                    update(_L)
                    .where(ligne, libre)
                    .values(etat="en_cours", pris_le=maintenant, tentatives=_L.c.tentatives + 1)
                    .returning(_L.c.charge_chiffree, _L.c.tentatives)
                )
            ).first()
            if prise is not None:
                return Prise("prise", prise[0], int(prise[1]))
            etat = (await connection.execute(select(_L.c.etat).where(ligne))).scalar()
        return Prise("occupee" if etat == "en_cours" else "finie")

    async def relacher(self, campagne_id: uuid.UUID, numero: int) -> None:
        """Back to the queue (a transient failure before any decision): another attempt will come."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_L)
                .where(_L.c.campagne_id == campagne_id, _L.c.numero == numero, _L.c.etat == "en_cours")
                .values(etat="en_attente", pris_le=None)
            )

    async def terminer(
        self,
        campagne_id: uuid.UUID,
        numero: int,
        *,
        decision_id: uuid.UUID,
        statuts: Sequence[tuple[str, str]],
        resultats_chiffres: str,
        reprise: bool = True,
    ) -> None:
        """The line is decided: its outcome recorded, its request deleted (one transaction).
        `reprise`: an earlier attempt may have recorded statuses (else there is nothing to clear)."""
        async with self._engine.begin() as connection:
            if reprise:
                await connection.execute(
                    delete(_R).where(_R.c.campagne_id == campagne_id, _R.c.numero == numero)
                )
            if statuts:
                await connection.execute(
                    insert(_R),
                    [
                        {"campagne_id": campagne_id, "numero": numero, "dispositif": d, "statut": s}
                        for d, s in statuts
                    ],
                )
            await connection.execute(
                update(_L)
                .where(_L.c.campagne_id == campagne_id, _L.c.numero == numero)
                .values(
                    etat="faite",
                    decision_id=decision_id,
                    fait_le=_maintenant(),
                    resultats_chiffres=resultats_chiffres,
                    charge_chiffree=None,
                    erreur_code=None,
                    erreur_detail=None,
                )
            )

    async def echouer(self, campagne_id: uuid.UUID, numero: int, *, code: str, detail: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_L)
                .where(_L.c.campagne_id == campagne_id, _L.c.numero == numero)
                .values(
                    etat="echec",
                    fait_le=_maintenant(),
                    charge_chiffree=None,
                    erreur_code=code[:64],
                    erreur_detail=detail[:500],
                )
            )

    async def cloturer_si_finie(self, campagne_id: uuid.UUID) -> bool:
        """`terminee` once no line is left to do; True if this call closed it."""
        reste = (
            select(_L.c.numero)
            .where(_L.c.campagne_id == campagne_id, _L.c.etat.in_(("en_attente", "en_cours")))
            .exists()
        )
        async with self._engine.begin() as connection:
            resultat = await connection.execute(
                update(_T)
                .where(_T.c.id == campagne_id, _T.c.etat == "en_cours", ~reste)
                .values(etat="terminee", termine_le=_maintenant(), pause_motif=None)
            )
        return bool(resultat.rowcount)

    async def annuler(self, campagne_id: uuid.UUID) -> None:
        """Lines not taken yet are cancelled (their requests deleted); lines under way finish."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_L)
                .where(_L.c.campagne_id == campagne_id, _L.c.etat == "en_attente")
                .values(etat="annulee", charge_chiffree=None)
            )
            await connection.execute(
                update(_T)
                .where(_T.c.id == campagne_id, _T.c.etat == "en_cours")
                .values(etat="annulee", termine_le=_maintenant(), pause_motif=None)
            )

    async def signaler_pause(self, campagne_id: uuid.UUID, motif: str | None) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_T)
                .where(_T.c.id == campagne_id, _T.c.etat == "en_cours")
                .values(pause_motif=None if motif is None else motif[:300])
            )

    async def exporter(self, campagne_id: uuid.UUID) -> AsyncIterator[LigneExportee]:
        """Every line in file order, read by pages (never the whole campaign in memory)."""
        apres = -1
        while True:
            async with self._engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(
                            _L.c.numero,
                            _L.c.dossier_ref,
                            _L.c.etat,
                            _L.c.decision_id,
                            _L.c.resultats_chiffres,
                            _L.c.erreur_code,
                            _L.c.erreur_detail,
                        )
                        .where(_L.c.campagne_id == campagne_id, _L.c.numero > apres)
                        .order_by(_L.c.numero)
                        .limit(_PAGE_EXPORT)
                    )
                ).all()
            for row in rows:
                yield LigneExportee(*row)
            if len(rows) < _PAGE_EXPORT:
                return
            apres = rows[-1][0]
