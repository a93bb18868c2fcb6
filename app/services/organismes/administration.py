"""Managing organismes, clients and API keys (the command line's `organisme`, `client`, `key`).

Every operation validates before writing (SIRET checksum, règlement loadable, known scopes) and runs
in one transaction. A new API key is returned once, to be printed once: only its digest is stored.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.tables import CleApiRow, ClientRow, OrganismeRow
from app.rules.facts import CATALOGUE_FAITS
from app.rules.loader import ReglementInvalide, charger_reglement
from app.services.organismes.registre import (
    SCOPES_CLIENT,
    ChiffrementSecrets,
    chemin_reglement,
    hash_api_key,
    siret_valide,
)

#: Identifiers of organismes and clients: they appear in the journal and in logs, so they are short,
#: lower-case and carry no personal data by construction.
_IDENTIFIANT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$", re.ASCII)

#: Upstream scopes a habilitation may grant (those the rules engine knows how to use).
SCOPES_FOURNISSEURS = frozenset(d.scope for d in CATALOGUE_FAITS.values() if d.scope is not None)

#: Prefix of every key the gateway issues: secret scanners and operators recognise it.
PREFIXE_CLE = "eg_"


class AdministrationRefusee(ValueError):
    """An administrative operation refused, with a French message for the operator."""


def nouvelle_cle_api() -> str:
    """A new API key: 256 bits from the OS's CSPRNG, URL-safe."""
    return PREFIXE_CLE + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NouvelOrganisme:
    id: str
    nom: str
    siret: str
    #: Path of the règlement file, absolute or relative to REGLEMENTS_DIR.
    reglement: str
    api_particulier_token: SecretStr | None = None
    impot_client_id: str | None = None
    impot_client_secret: SecretStr | None = None
    scopes_habilitation: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class ResumeCle:
    prefixe: str
    cree_le: datetime
    expire_le: datetime | None
    revoquee_le: datetime | None


@dataclass(frozen=True, slots=True)
class ResumeClient:
    id: str
    nom: str | None
    scopes: tuple[str, ...]
    revoque_le: datetime | None
    cles: tuple[ResumeCle, ...]


@dataclass(frozen=True, slots=True)
class ResumeOrganisme:
    id: str
    nom: str
    siret: str
    reglement: str
    version: int
    scopes_habilitation: tuple[str, ...] | None
    clients: tuple[ResumeClient, ...]


def _verifier_identifiant(valeur: str, quoi: str) -> None:
    if not _IDENTIFIANT.match(valeur):
        raise AdministrationRefusee(
            f"{quoi} « {valeur} » invalide : 1 à 64 caractères parmi a-z, 0-9, point, tiret, souligné."
        )


def _verifier_scopes(scopes: Iterable[str], connus: frozenset[str], quoi: str) -> None:
    inconnus = sorted(set(scopes) - connus)
    if inconnus:
        raise AdministrationRefusee(
            f"{quoi} inconnus : {', '.join(inconnus)} (admis : {', '.join(sorted(connus))})."
        )


class AdministrationOrganismes:
    def __init__(
        self,
        engine: AsyncEngine,
        chiffrement: ChiffrementSecrets,
        *,
        reglements_dir: Path,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._chiffrement = chiffrement
        self._reglements_dir = reglements_dir
        self._now = now

    async def creer_organisme(
        self, nouvel: NouvelOrganisme, *, remplacer: bool = False, verifier_siret: bool = True
    ) -> None:
        """Create the organisme (or, with `remplacer`, update it: workers reload it within seconds)."""
        _verifier_identifiant(nouvel.id, "Identifiant d'organisme")
        if verifier_siret and not siret_valide(nouvel.siret):
            raise AdministrationRefusee(f"SIRET « {nouvel.siret} » invalide (14 chiffres, clé de Luhn).")
        if not nouvel.nom.strip() or len(nouvel.nom) > 200:
            raise AdministrationRefusee("Le nom de l'organisme est obligatoire (200 caractères au plus).")
        if nouvel.scopes_habilitation is not None:
            _verifier_scopes(nouvel.scopes_habilitation, SCOPES_FOURNISSEURS, "Scopes d'habilitation")
        if (nouvel.impot_client_id is None) != (nouvel.impot_client_secret is None):
            raise AdministrationRefusee("API Impôt particulier : l'identifiant et le secret vont ensemble.")
        await self._verifier_reglement(nouvel.reglement)
        now = self._now()
        values = {
            "nom": nouvel.nom.strip(),
            "siret": nouvel.siret,
            "reglement": nouvel.reglement,
            "api_particulier_token_chiffre": self._chiffrement.chiffrer(nouvel.api_particulier_token),
            "impot_client_id": nouvel.impot_client_id,
            "impot_client_secret_chiffre": self._chiffrement.chiffrer(nouvel.impot_client_secret),
            "scopes_habilitation": (
                sorted(nouvel.scopes_habilitation) if nouvel.scopes_habilitation is not None else None
            ),
            "modifie_le": now,
        }
        async with self._engine.begin() as connection:
            existant = await self._version(connection, nouvel.id)
            if existant is not None and not remplacer:
                raise AdministrationRefusee(
                    f"L'organisme « {nouvel.id} » existe déjà (--remplacer pour le modifier)."
                )
            if existant is None:
                await connection.execute(
                    insert(OrganismeRow).values(id=nouvel.id, version=1, cree_le=now, **values)
                )
            else:
                await connection.execute(
                    update(OrganismeRow)
                    .where(OrganismeRow.id == nouvel.id)
                    .values(version=OrganismeRow.version + 1, **values)
                )

    async def recharger_organisme(self, organisme_id: str) -> int:
        """Bump the organisme's version: every worker reloads it (and its règlement file) on next use."""
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(
                    select(OrganismeRow.reglement).where(OrganismeRow.id == organisme_id)
                )
            ).first()
            if row is None:
                raise AdministrationRefusee(f"Organisme « {organisme_id} » inconnu.")
            await self._verifier_reglement(row.reglement)
            await connection.execute(
                update(OrganismeRow)
                .where(OrganismeRow.id == organisme_id)
                .values(version=OrganismeRow.version + 1, modifie_le=self._now())
            )
            version = await self._version(connection, organisme_id)
        assert version is not None  # noqa: S101 - the row was just updated in this transaction
        return version

    async def lister(self) -> list[ResumeOrganisme]:
        async with self._engine.connect() as connection:
            organismes = (await connection.execute(select(OrganismeRow).order_by(OrganismeRow.id))).all()
            clients = (await connection.execute(select(ClientRow).order_by(ClientRow.id))).all()
            cles = (await connection.execute(select(CleApiRow).order_by(CleApiRow.cree_le))).all()
        cles_par_client: dict[str, list[ResumeCle]] = {}
        for cle in cles:
            cles_par_client.setdefault(cle.client_id, []).append(
                ResumeCle(cle.prefixe, cle.cree_le, cle.expire_le, cle.revoquee_le)
            )
        clients_par_organisme: dict[str, list[ResumeClient]] = {}
        for client in clients:
            clients_par_organisme.setdefault(client.organisme_id, []).append(
                ResumeClient(
                    client.id,
                    client.nom,
                    tuple(sorted(client.scopes)),
                    client.revoque_le,
                    tuple(cles_par_client.get(client.id, ())),
                )
            )
        return [
            ResumeOrganisme(
                id=o.id,
                nom=o.nom,
                siret=o.siret,
                reglement=o.reglement,
                version=o.version,
                scopes_habilitation=(
                    tuple(sorted(o.scopes_habilitation)) if o.scopes_habilitation is not None else None
                ),
                clients=tuple(clients_par_organisme.get(o.id, ())),
            )
            for o in organismes
        ]

    async def creer_client(
        self, organisme_id: str, client_id: str, scopes: Iterable[str], *, nom: str | None = None
    ) -> str:
        """Create a client and its first API key; returns the key (shown once, never stored)."""
        _verifier_identifiant(client_id, "Identifiant de client")
        scopes = frozenset(scopes)
        if not scopes:
            raise AdministrationRefusee("Un client doit avoir au moins un droit.")
        _verifier_scopes(scopes, SCOPES_CLIENT, "Droits")
        cle = nouvelle_cle_api()
        now = self._now()
        try:
            async with self._engine.begin() as connection:
                if await self._version(connection, organisme_id) is None:
                    raise AdministrationRefusee(f"Organisme « {organisme_id} » inconnu.")
                await connection.execute(
                    insert(ClientRow).values(
                        id=client_id,
                        organisme_id=organisme_id,
                        nom=nom,
                        scopes=sorted(scopes),
                        cree_le=now,
                        revoque_le=None,
                    )
                )
                await self._inserer_cle(connection, client_id, cle, now)
        except IntegrityError as e:
            raise AdministrationRefusee(f"Le client « {client_id} » existe déjà.") from e
        return cle

    async def revoquer_client(self, client_id: str) -> int:
        """Revoke the client and all its keys at once; returns how many keys were still valid."""
        now = self._now()
        async with self._engine.begin() as connection:
            revoque = await connection.execute(
                update(ClientRow).where(ClientRow.id == client_id).values(revoque_le=now)
            )
            if revoque.rowcount == 0:
                raise AdministrationRefusee(f"Client « {client_id} » inconnu.")
            cles = await connection.execute(
                update(CleApiRow)
                .where(
                    CleApiRow.client_id == client_id,
                    CleApiRow.revoquee_le.is_(None),
                    (CleApiRow.expire_le.is_(None)) | (CleApiRow.expire_le > now),
                )
                .values(revoquee_le=now)
            )
        return int(cles.rowcount)

    async def revoquer_cle(self, client_id: str, prefixe: str) -> int:
        """Revoke the client's still-valid keys whose prefix (as `lister` shows it) is `prefixe`;
        returns how many. The client and its other keys are untouched."""
        if not prefixe:
            raise AdministrationRefusee("Indiquez le préfixe de la clé (voir « client list »).")
        now = self._now()
        async with self._engine.begin() as connection:
            cles = await connection.execute(
                update(CleApiRow)
                .where(
                    CleApiRow.client_id == client_id,
                    CleApiRow.prefixe == prefixe,
                    CleApiRow.revoquee_le.is_(None),
                    (CleApiRow.expire_le.is_(None)) | (CleApiRow.expire_le > now),
                )
                .values(revoquee_le=now)
            )
        if cles.rowcount == 0:
            raise AdministrationRefusee(
                f"Aucune clé valide du client « {client_id} » ne commence par « {prefixe} »."
            )
        return int(cles.rowcount)

    async def tourner_cle(self, client_id: str, chevauchement: timedelta) -> tuple[str, datetime]:
        """A new key for the client; its current keys keep working `chevauchement` longer, then expire.

        Returns the new key and the instant the old ones stop working.
        """
        if chevauchement < timedelta(0):
            raise AdministrationRefusee("La période de chevauchement ne peut pas être négative.")
        now = self._now()
        fin = now + chevauchement
        cle = nouvelle_cle_api()
        async with self._engine.begin() as connection:
            client = (
                await connection.execute(select(ClientRow.revoque_le).where(ClientRow.id == client_id))
            ).first()
            if client is None:
                raise AdministrationRefusee(f"Client « {client_id} » inconnu.")
            if client.revoque_le is not None:
                raise AdministrationRefusee(f"Le client « {client_id} » est révoqué.")
            # Only shorten: a key already due to expire sooner keeps its earlier end.
            await connection.execute(
                update(CleApiRow)
                .where(
                    CleApiRow.client_id == client_id,
                    CleApiRow.revoquee_le.is_(None),
                    (CleApiRow.expire_le.is_(None)) | (CleApiRow.expire_le > fin),
                )
                .values(expire_le=fin)
            )
            await self._inserer_cle(connection, client_id, cle, now)
        return cle, fin

    async def installer_demo(self, organisme: NouvelOrganisme, client_id: str, api_key: SecretStr) -> None:
        """Sandbox: make the demo organisme, its client and exactly the configured demo key exist.

        Idempotent and safe when several workers start at once (a lost insert race is ignored).
        """
        # The demo SIRET is the operator's setting (GATEWAY_DEMO_SIRET): the data path checks it before
        # every upstream call and names it in a 422, as for any organisme, so it is not refused here.
        try:
            await self.creer_organisme(organisme, remplacer=True, verifier_siret=False)
        except IntegrityError:  # another worker inserted it first: update it instead
            await self.creer_organisme(organisme, remplacer=True, verifier_siret=False)
        digest = hash_api_key(api_key.get_secret_value())
        now = self._now()
        for _attempt in range(2):
            try:
                async with self._engine.begin() as connection:
                    await self._installer_client_demo(connection, organisme.id, client_id, digest, now)
                break
            except IntegrityError:
                continue  # a concurrent worker inserted the same rows: the second pass only updates

    async def _installer_client_demo(
        self, connection: AsyncConnection, organisme_id: str, client_id: str, digest: str, now: datetime
    ) -> None:
        exists = (await connection.execute(select(ClientRow.id).where(ClientRow.id == client_id))).first()
        if exists is None:
            await connection.execute(
                insert(ClientRow).values(
                    id=client_id, organisme_id=organisme_id, nom="démonstration",
                    scopes=sorted(SCOPES_CLIENT), cree_le=now, revoque_le=None,
                )
            )  # fmt: skip
        else:
            await connection.execute(
                update(ClientRow)
                .where(ClientRow.id == client_id)
                .values(organisme_id=organisme_id, scopes=sorted(SCOPES_CLIENT), revoque_le=None)
            )
        # Only the configured demo key opens the demo organisme: a previous one stops working.
        await connection.execute(
            update(CleApiRow)
            .where(
                CleApiRow.client_id == client_id,
                CleApiRow.empreinte != digest,
                CleApiRow.revoquee_le.is_(None),
            )
            .values(revoquee_le=now)
        )
        key = (await connection.execute(select(CleApiRow).where(CleApiRow.empreinte == digest))).first()
        if key is None:
            await connection.execute(
                insert(CleApiRow).values(
                    empreinte=digest, client_id=client_id, prefixe="demo",
                    cree_le=now, expire_le=None, revoquee_le=None,
                )
            )  # fmt: skip
        else:
            await connection.execute(
                update(CleApiRow)
                .where(CleApiRow.empreinte == digest)
                .values(client_id=client_id, expire_le=None, revoquee_le=None)
            )

    async def _verifier_reglement(self, reference: str) -> None:
        chemin = chemin_reglement(reference, self._reglements_dir)
        try:
            await asyncio.to_thread(charger_reglement, chemin)
        except ReglementInvalide as e:
            raise AdministrationRefusee(f"Règlement invalide : {e}") from e

    @staticmethod
    async def _version(connection: AsyncConnection, organisme_id: str) -> int | None:
        row = (
            await connection.execute(select(OrganismeRow.version).where(OrganismeRow.id == organisme_id))
        ).first()
        return None if row is None else int(row.version)

    @staticmethod
    async def _inserer_cle(connection: AsyncConnection, client_id: str, cle: str, now: datetime) -> None:
        await connection.execute(
            insert(CleApiRow).values(
                empreinte=hash_api_key(cle),
                client_id=client_id,
                prefixe=cle[:10],
                cree_le=now,
                expire_le=None,
                revoquee_le=None,
            )
        )
