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
from typing import Literal

from pydantic import SecretStr
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.tables import CleApiRow, ClientRow, OrganismeRow
from app.rules.facts import CATALOGUE_FAITS
from app.rules.loader import ReglementInvalide, charger_reglement
from app.rules.model import Reglement
from app.rules.needs import scopes_manquants, scopes_requis
from app.services.organismes.coordonnees import COORDONNEES_DEMO, Coordonnees, CoordonneesInvalides
from app.services.organismes.registre import (
    SCOPES_CLIENT,
    ChiffrementSecrets,
    chemin_reglement,
    hash_api_key,
    siret_valide,
)

#: Identifiers of organismes and clients: they appear in the journal and in logs, so they are short,
#: lower-case and carry no personal data by construction.
_IDENTIFIANT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z", re.ASCII)

#: Upstream scopes a habilitation may grant (those the rules engine knows how to use).
SCOPES_FOURNISSEURS = frozenset(d.scope for d in CATALOGUE_FAITS.values() if d.scope is not None)

#: Prefix of every key the gateway issues: secret scanners and operators recognise it.
PREFIXE_CLE = "eg_"

#: The sandbox's demo organisme and its client (installed at each sandbox start, never in production).
DEMO_ORGANISME_ID = "ccas-demoville"
DEMO_CLIENT_ID = "demo"
#: What `--remplacer` does with the organisme's clients: said explicitly, never implied (issue 13).
ClientsExistants = Literal["garder", "revoquer"]


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


def verifier_habilitation(
    reglement: Reglement, habilitation: frozenset[str] | None, *, forcer: bool
) -> list[str]:
    """Refuse a habilitation short of what the règlement needs (`needs.scopes_requis`, as published
    by `GET /v1/reglement` and enforced on every decision); with `forcer`, a warning instead."""
    manquants = scopes_manquants(scopes_requis(reglement), habilitation)
    if not manquants:
        return []
    message = (
        f"L'habilitation ne couvre pas des données que le règlement « {reglement.id} » utilise : "
        f"{', '.join(manquants)}. Chaque décision serait refusée (403) ; ajouter ces scopes à "
        "--habilitation (liste publiée par GET /v1/reglement, champ scopes_necessaires)"
    )
    if not forcer:
        raise AdministrationRefusee(message + ", ou --force pour passer outre.")
    return [message + "."]


def verifier_organisme_du_reglement(reglement: Reglement, fichier: str, *, nom: str, siret: str) -> None:
    """A règlement whose header names another organisme's SIRET (a copied file) is not this one's.

    The SIRET identifies; a header's name alone is free text (and what applicants read comes from
    the organisme's record anyway: `explain.mention`, `GET /v1/reglement`)."""
    auteur = reglement.organisme
    if auteur.siret is not None and auteur.siret != siret:
        raise AdministrationRefusee(
            f"Le règlement « {fichier} » est celui de l'organisme « {auteur.nom} » (SIRET {auteur.siret}), "
            f"pas de « {nom} » (SIRET {siret}) : mettre son SIRET dans l'en-tête organisme du règlement."
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
        self,
        nouvel: NouvelOrganisme,
        *,
        remplacer: bool = False,
        verifier_siret: bool = True,
        clients: ClientsExistants | None = None,
        forcer: bool = False,
    ) -> list[str]:
        """Create the organisme (or, with `remplacer`, update it: workers reload it within seconds).

        Refused when its habilitation lacks a scope its règlement needs, unless `forcer`: the
        refusal is then returned as a warning. Returns the warnings for the operator.

        Replacing an organisme that still has active clients needs `clients`: "garder" keeps their
        keys and scopes, "revoquer" revokes them (and their keys) in the same transaction. Neither
        is implied: a sandbox demo client replaced into production kept every scope and the public
        demo key (issue 13).
        """
        _verifier_identifiant(nouvel.id, "Identifiant d'organisme")
        if verifier_siret and not siret_valide(nouvel.siret):
            raise AdministrationRefusee(f"SIRET « {nouvel.siret} » invalide (14 chiffres, clé de Luhn).")
        if not nouvel.nom.strip() or len(nouvel.nom) > 200:
            raise AdministrationRefusee("Le nom de l'organisme est obligatoire (200 caractères au plus).")
        if nouvel.scopes_habilitation is not None:
            _verifier_scopes(nouvel.scopes_habilitation, SCOPES_FOURNISSEURS, "Scopes d'habilitation")
        if (nouvel.impot_client_id is None) != (nouvel.impot_client_secret is None):
            raise AdministrationRefusee("API Impôt particulier : l'identifiant et le secret vont ensemble.")
        reglement = await self._verifier_reglement(nouvel.reglement)
        if verifier_siret:
            verifier_organisme_du_reglement(reglement, nouvel.reglement, nom=nouvel.nom, siret=nouvel.siret)
        avertissements = verifier_habilitation(reglement, nouvel.scopes_habilitation, forcer=forcer)
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
            if verifier_siret:
                await self._verifier_siret_libre(connection, nouvel)
            if existant is None:
                await connection.execute(
                    insert(OrganismeRow).values(id=nouvel.id, version=1, cree_le=now, **values)
                )
            else:
                await self._clients_remplaces(connection, nouvel.id, clients, now)
                await connection.execute(
                    update(OrganismeRow)
                    .where(OrganismeRow.id == nouvel.id)
                    .values(version=OrganismeRow.version + 1, **values)
                )
        return avertissements

    @staticmethod
    async def _clients_remplaces(
        connection: AsyncConnection, organisme_id: str, clients: ClientsExistants | None, now: datetime
    ) -> None:
        actifs = await _clients_actifs(connection, organisme_id)
        if not actifs or clients == "garder":
            return
        if clients is None:
            raise AdministrationRefusee(
                f"L'organisme « {organisme_id} » a {len(actifs)} client(s) actif(s) ({', '.join(actifs)}) : "
                "--remplacer ne garde pas implicitement leurs clés ni leurs droits. Ajouter "
                "--revoquer-clients (leurs clés cessent de fonctionner ; en créer avec `client create`) "
                "ou --garder-clients (ils gardent clés et droits)."
            )
        await connection.execute(update(ClientRow).where(ClientRow.id.in_(actifs)).values(revoque_le=now))
        await connection.execute(
            update(CleApiRow)
            .where(CleApiRow.client_id.in_(actifs), CleApiRow.revoquee_le.is_(None))
            .values(revoquee_le=now)
        )

    async def traces_de_demo(self, cles_demo: Iterable[SecretStr]) -> list[str]:
        """What of the sandbox's demo still opens the gateway: the demo organisme's active clients,
        and any valid key equal to a demo key (a production start refuses them)."""
        empreintes = [hash_api_key(c.get_secret_value()) for c in cles_demo]
        now = self._now()
        async with self._engine.connect() as connection:
            clients = await _clients_actifs(connection, DEMO_ORGANISME_ID)
            cles = (
                (
                    await connection.execute(
                        select(CleApiRow.client_id).where(
                            CleApiRow.empreinte.in_(empreintes),
                            CleApiRow.revoquee_le.is_(None),
                            (CleApiRow.expire_le.is_(None)) | (CleApiRow.expire_le > now),
                        )
                    )
                )
                .scalars()
                .all()
            )
        traces = [f"client « {c} » de l'organisme de démonstration « {DEMO_ORGANISME_ID} »" for c in clients]
        traces += [f"clé de démonstration publique du client « {c} »" for c in cles]
        return traces

    async def retirer_demo(self, cles_demo: Iterable[SecretStr]) -> int:
        """Revoke the demo organisme's clients, their keys and any key equal to a demo key; returns
        how many clients and keys were revoked. The organisme row stays (its journal stays too)."""
        empreintes = [hash_api_key(c.get_secret_value()) for c in cles_demo]
        now = self._now()
        async with self._engine.begin() as connection:
            clients = await _clients_actifs(connection, DEMO_ORGANISME_ID)
            if clients:
                await connection.execute(
                    update(ClientRow).where(ClientRow.id.in_(clients)).values(revoque_le=now)
                )
            cles = await connection.execute(
                update(CleApiRow)
                .where(
                    CleApiRow.revoquee_le.is_(None),
                    CleApiRow.client_id.in_(clients) | CleApiRow.empreinte.in_(empreintes),
                )
                .values(revoquee_le=now)
            )
        return len(clients) + int(cles.rowcount)

    async def recharger_organisme(self, organisme_id: str, *, forcer: bool = False) -> tuple[int, list[str]]:
        """Bump the organisme's version: every worker reloads it (and its règlement file) on next use.

        The règlement file is checked as at creation (its organisme, the habilitation it needs).
        Returns the new version and the warnings (habilitation short of the règlement, `forcer`)."""
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(
                    select(
                        OrganismeRow.reglement,
                        OrganismeRow.nom,
                        OrganismeRow.siret,
                        OrganismeRow.scopes_habilitation,
                    ).where(OrganismeRow.id == organisme_id)
                )
            ).first()
            if row is None:
                raise AdministrationRefusee(f"Organisme « {organisme_id} » inconnu.")
            reglement = await self._verifier_reglement(row.reglement)
            verifier_organisme_du_reglement(reglement, row.reglement, nom=row.nom, siret=row.siret)
            habilitation = frozenset(row.scopes_habilitation) if row.scopes_habilitation is not None else None
            avertissements = verifier_habilitation(reglement, habilitation, forcer=forcer)
            await connection.execute(
                update(OrganismeRow)
                .where(OrganismeRow.id == organisme_id)
                .values(version=OrganismeRow.version + 1, modifie_le=self._now())
            )
            version = await self._version(connection, organisme_id)
        assert version is not None  # noqa: S101 - the row was just updated in this transaction
        return version, avertissements

    async def definir_coordonnees(self, organisme_id: str, changements: dict[str, str | None]) -> Coordonnees:
        """Set some of the organisme's coordinates (None keeps a field, "" clears it); every worker
        reloads the organisme within seconds (its version moves). Returns the coordinates now set."""
        async with self._engine.begin() as connection:
            row = (
                await connection.execute(
                    select(OrganismeRow.coordonnees).where(OrganismeRow.id == organisme_id)
                )
            ).first()
            if row is None:
                raise AdministrationRefusee(f"Organisme « {organisme_id} » inconnu.")
            actuelles = Coordonnees.depuis_dict(row.coordonnees) or Coordonnees()
            try:
                nouvelles = actuelles.avec(changements)
            except CoordonneesInvalides as e:
                raise AdministrationRefusee(f"Coordonnées refusées : {e}.") from e
            await connection.execute(
                update(OrganismeRow)
                .where(OrganismeRow.id == organisme_id)
                .values(
                    coordonnees=nouvelles.vers_dict() or None,
                    version=OrganismeRow.version + 1,
                    modifie_le=self._now(),
                )
            )
        return nouvelles

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
            await self.creer_organisme(organisme, remplacer=True, verifier_siret=False, clients="garder")
        except IntegrityError:  # another worker inserted it first: update it instead
            await self.creer_organisme(organisme, remplacer=True, verifier_siret=False, clients="garder")
        # Demo coordinates for its letters, unless an operator has set some.
        async with self._engine.begin() as connection:
            await connection.execute(
                update(OrganismeRow)
                .where(OrganismeRow.id == organisme.id, OrganismeRow.coordonnees.is_(None))
                .values(coordonnees=COORDONNEES_DEMO.vers_dict())
            )
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

    async def _verifier_reglement(self, reference: str) -> Reglement:
        chemin = chemin_reglement(reference, self._reglements_dir)
        try:
            return await asyncio.to_thread(charger_reglement, chemin)
        except ReglementInvalide as e:
            raise AdministrationRefusee(f"Règlement invalide : {e}") from e

    @staticmethod
    async def _verifier_siret_libre(connection: AsyncConnection, nouvel: NouvelOrganisme) -> None:
        """One SIRET, one organisme: API Particulier and DGFiP know a CCAS by its SIRET."""
        autre = (
            await connection.execute(
                select(OrganismeRow.id).where(
                    OrganismeRow.siret == nouvel.siret, OrganismeRow.id != nouvel.id
                )
            )
        ).first()
        if autre is not None:
            raise AdministrationRefusee(
                f"Le SIRET {nouvel.siret} est déjà celui de l'organisme « {autre.id} » : "
                "un SIRET, un organisme (modifier celui-ci avec --remplacer)."
            )

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


async def _clients_actifs(connection: AsyncConnection, organisme_id: str) -> list[str]:
    """The ids of the organisme's clients that are not revoked."""
    resultat = await connection.execute(
        select(ClientRow.id).where(ClientRow.organisme_id == organisme_id, ClientRow.revoque_le.is_(None))
    )
    return list(resultat.scalars().all())
