"""Organismes (CCAS), their clients and API keys: who is calling, with which règlement and credentials.

Organismes, clients and key digests live in the database (managed with `python -m app organisme …`,
see app/services/organismes/administration.py); each worker keeps the organismes in memory with their parsed
règlement and reloads one when its row's `version` moves. API keys are stored only as SHA-256
digests (they are long random secrets, so a fast hash is the right tool; a password hash would only
slow every request down). Upstream secrets are stored encrypted (`ChiffrementSecrets`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.fr import siret

from app.db.engine import DATABASE_ERRORS
from app.db.tables import CleApiRow, ClientRow, OrganismeRow
from app.errors import ConfigurationError, JournalUnavailable
from app.keys import derive_key
from app.rules.loader import ReglementInvalide
from app.rules.model import Reglement
from app.services.journal.chiffrement import TrousseauJournal
from app.services.organismes.archives import archiver, charger_avec_texte
from app.services.organismes.coordonnees import Coordonnees
from app.services.organismes.ratelimit import LimiteurEchecsAuthentification

logger = structlog.get_logger(__name__)

#: Scopes a client (the business software of an organisme) may hold.
SCOPES_CLIENT = frozenset({"eligibilite", "donnees", "simulations", "journal:lecture", "campagnes", "admin"})

#: HKDF purpose of the key that encrypts organismes' upstream secrets. Its own purpose (not the cache's
#: Fernet keys): cache keys are rotated and dropped once cached data has expired, whereas these
#: secrets live in the database for years and must stay readable.
PURPOSE_SECRETS_ORGANISMES = "secrets-organismes"

#: How long a worker trusts an authentication it looked up (seconds): a revoked key stops working
#: everywhere within this delay. 0 checks the database on every request.
DEFAULT_AUTH_CACHE_TTL = 5.0
_AUTH_CACHE_MAX_ENTRIES = 10_000
#: How long a key found valid is still looked up from an address throttled for unknown keys.
_VALIDE_RECEMMENT = timedelta(hours=1)


_SIRET = re.compile(r"^\d{14}\Z", re.ASCII)
#: La Poste's establishments do not follow the Luhn rule; API Particulier accepts them as such.
_SIRET_LA_POSTE = re.compile(r"^356000000\d{5}\Z", re.ASCII)


@functools.lru_cache(maxsize=1024)
def siret_valide(value: str) -> bool:
    """A SIRET API Particulier accepts as `recipient`: 14 digits, checksum-valid, or La Poste's.

    Memoised: it is the organisme's SIRET, checked on every request (a pure function of a few
    thousand distinct values at most)."""
    return bool(_SIRET_LA_POSTE.match(value)) or (bool(_SIRET.match(value)) and siret.is_valid(value))


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Organisme:
    """A CCAS: its SIRET is sent as `recipient` on every upstream call made for it."""

    id: str
    nom: str
    siret: str
    reglement: Reglement
    api_particulier_token: SecretStr | None
    #: OAuth2 client credentials of its API Impôt particulier habilitation, if it has one.
    impot_client_id: str | None = None
    impot_client_secret: SecretStr | None = None
    #: Upstream scopes its habilitation grants; `None` means "not restricted by the gateway".
    scopes_habilitation: frozenset[str] | None = None
    #: What its letters and notices print (`eg organisme coordonnees`); None until set.
    coordonnees: Coordonnees | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """The business software of one organisme, authenticated by an API key."""

    id: str
    organisme_id: str
    scopes: frozenset[str] = field(default_factory=lambda: SCOPES_CLIENT)


@dataclass(frozen=True, slots=True)
class Appelant:
    """Who is calling: the client and the organisme it acts for."""

    client: Client
    organisme: Organisme


class ChiffrementSecrets:
    """Encrypts organismes' upstream secrets at rest with a sub-key of `GATEWAY_SECRET_KEY`.

    Changing `GATEWAY_SECRET_KEY` makes the stored secrets unreadable: the gateway then refuses to
    start and names the organisme, and the secrets must be set again (`organisme create --remplacer`).
    """

    def __init__(self, secret_key: SecretStr) -> None:
        derived = derive_key(secret_key.get_secret_value().encode("utf-8"), PURPOSE_SECRETS_ORGANISMES)
        # MultiFernet so that a later dedicated key list can be added first without a flag day.
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])

    def chiffrer(self, secret: SecretStr | None) -> str | None:
        if secret is None:
            return None
        return self._fernet.encrypt(secret.get_secret_value().encode("utf-8")).decode("ascii")

    def dechiffrer(self, chiffre: str | None, *, organisme_id: str) -> SecretStr | None:
        if chiffre is None:
            return None
        try:
            return SecretStr(self._fernet.decrypt(chiffre.encode("ascii")).decode("utf-8"))
        except InvalidToken as e:
            raise ConfigurationError(
                f"Les secrets de l'organisme « {organisme_id} » ne se déchiffrent pas : "
                "GATEWAY_SECRET_KEY a-t-elle changé ? Redéfinissez-les avec `organisme create --remplacer`."
            ) from e


def chemin_reglement(reference: str, reglements_dir: Path) -> Path:
    """The règlement file an organisme row refers to: absolute, or relative to REGLEMENTS_DIR."""
    chemin = Path(reference)
    return chemin if chemin.is_absolute() else reglements_dir / chemin


@dataclass(frozen=True, slots=True)
class _Authentification:
    client: Client
    organisme_version: int
    #: Wall-clock instant after which the database must be asked again (TTL, or the key's expiry).
    valable_jusqu_au: datetime


class AnnuaireOrganismes:
    """The organismes and clients of the database: authenticates API keys into an `Appelant`.

    Lookups are cached per process for `ttl_seconds` (never past a key's own expiry), so a revoked
    key stops working in every worker within that delay while most requests skip the database.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        chiffrement: ChiffrementSecrets,
        *,
        reglements_dir: Path,
        ttl_seconds: float = DEFAULT_AUTH_CACHE_TTL,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        echecs: LimiteurEchecsAuthentification | None = None,
        archives: TrousseauJournal | None = None,
    ) -> None:
        self._engine = engine
        #: The journal's key ring: each règlement loaded is archived under it (issue 17); None: not archived.
        self._archives = archives
        #: Unknown key digests → until when they are known unknown (the negative cache).
        self._inconnues: dict[str, datetime] = {}
        #: Digests of keys found valid → until when they skip the per-address throttle.
        self._valides_recemment: dict[str, datetime] = {}
        self._echecs = echecs
        self._chiffrement = chiffrement
        self._reglements_dir = reglements_dir
        self._ttl = timedelta(seconds=ttl_seconds)
        self._now = now
        self._organismes: dict[str, tuple[int, Organisme]] = {}
        #: Versions whose reload failed: not retried on every request, the previous one stays in use.
        self._versions_refusees: dict[str, int] = {}
        self._authentifications: dict[str, _Authentification] = {}
        #: Lookups in flight by key digest: when a cached key expires under load, the concurrent
        #: requests carrying it share one database lookup instead of each making its own.
        self._recherches: dict[str, asyncio.Task[Appelant | None]] = {}

    async def charger(self) -> int:
        """Load every organisme and its règlement (at start-up); a broken one stops the start-up."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(OrganismeRow))).all()
        for row in rows:
            self._organismes[row.id] = (row.version, await self._construire(row))
        if not rows:
            logger.warning("organismes.none_configured")
        logger.info("organismes.loaded", nombre=len(rows))
        return len(rows)

    def identifiants(self) -> list[str]:
        """The ids of the organismes loaded."""
        return list(self._organismes)

    def organisme(self, organisme_id: str) -> Organisme | None:
        entry = self._organismes.get(organisme_id)
        return entry[1] if entry else None

    async def organisme_courant(self, organisme_id: str) -> Organisme | None:
        """The organisme as the database has it now: a worker started before it was created or
        changed (issue 18) reloads it; None once deleted."""
        async with self._engine.connect() as connection:
            version = (
                await connection.execute(select(OrganismeRow.version).where(OrganismeRow.id == organisme_id))
            ).scalar()
        if version is None:
            return None
        return await self._organisme_a_jour(organisme_id, version)

    async def authentifier(self, api_key: str, *, source: str | None = None) -> Appelant | None:
        """The caller behind `api_key`, or None when the key is unknown, revoked or expired.

        An unknown key is remembered for the cache's TTL (no lookup when it comes back), and a
        `source` address that sends too many unknown keys gets `TooManyRequests` before any
        database lookup (issue 13).
        """
        empreinte = hash_api_key(api_key)
        now = self._now()
        cached = self._authentifications.get(empreinte)
        if cached is not None and now < cached.valable_jusqu_au:
            entry = self._organismes.get(cached.client.organisme_id)
            if entry is not None and entry[0] >= cached.organisme_version:
                return Appelant(client=cached.client, organisme=entry[1])
        inconnue = self._inconnues.get(empreinte)
        if inconnue is not None and now < inconnue:
            await self._echec(source)
            return None
        # A key that was valid within the hour is looked up even from a throttled address: clients
        # behind the same proxy or NAT as the one sending unknown keys keep working.
        connue = self._valides_recemment.get(empreinte)
        if source is not None and self._echecs is not None and (connue is None or now >= connue):
            await self._echecs.verifier(source)
        appelant = await self._chercher(empreinte, now)
        if appelant is not None:
            if len(self._valides_recemment) >= _AUTH_CACHE_MAX_ENTRIES:
                self._valides_recemment.clear()
            self._valides_recemment[empreinte] = now + _VALIDE_RECEMMENT
        if appelant is None:
            if self._ttl > timedelta(0):
                if len(self._inconnues) >= _AUTH_CACHE_MAX_ENTRIES:
                    self._inconnues.clear()
                self._inconnues[empreinte] = now + self._ttl
            await self._echec(source)
        else:
            self._inconnues.pop(empreinte, None)
        return appelant

    async def _echec(self, source: str | None) -> None:
        if source is not None and self._echecs is not None:
            await self._echecs.echec(source)

    async def _chercher(self, empreinte: str, now: datetime) -> Appelant | None:
        recherche = self._recherches.get(empreinte)
        if recherche is None:
            recherche = asyncio.create_task(self._rechercher(empreinte, now))
            self._recherches[empreinte] = recherche
            recherche.add_done_callback(lambda fini: self._oublier_recherche(empreinte, fini))
        # shield: a caller that hangs up does not cancel the lookup the others wait for.
        return await asyncio.shield(recherche)

    def _oublier_recherche(self, empreinte: str, fini: asyncio.Task[Appelant | None]) -> None:
        if self._recherches.get(empreinte) is fini:
            del self._recherches[empreinte]
        if not fini.cancelled():
            fini.exception()  # retrieved, even when every waiter was cancelled

    async def _rechercher(self, empreinte: str, now: datetime) -> Appelant | None:
        try:
            found = await self._lire_cle(empreinte, now)
        except DATABASE_ERRORS as e:
            logger.error("organismes.lookup_failed", error_type=type(e).__name__)
            raise JournalUnavailable(
                "La base de la passerelle est indisponible : authentification impossible."
            ) from e
        if found is None:
            self._authentifications.pop(empreinte, None)
            return None
        client, version, expire_le = found
        organisme = await self._organisme_a_jour(client.organisme_id, version)
        limite = now + self._ttl
        if expire_le is not None:
            limite = min(limite, expire_le)
        if self._ttl > timedelta(0):
            if len(self._authentifications) >= _AUTH_CACHE_MAX_ENTRIES:
                self._authentifications.clear()
            self._authentifications[empreinte] = _Authentification(client, version, limite)
        return Appelant(client=client, organisme=organisme)

    async def _lire_cle(self, empreinte: str, now: datetime) -> tuple[Client, int, datetime | None] | None:
        statement = (
            select(
                ClientRow.id,
                ClientRow.organisme_id,
                ClientRow.scopes,
                CleApiRow.expire_le,
                OrganismeRow.version,
            )
            .join(ClientRow, ClientRow.id == CleApiRow.client_id)
            .join(OrganismeRow, OrganismeRow.id == ClientRow.organisme_id)
            .where(
                CleApiRow.empreinte == empreinte,
                CleApiRow.revoquee_le.is_(None),
                (CleApiRow.expire_le.is_(None)) | (CleApiRow.expire_le > now),
                ClientRow.revoque_le.is_(None),
            )
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            return None
        client = Client(id=row.id, organisme_id=row.organisme_id, scopes=frozenset(row.scopes))
        return client, row.version, row.expire_le

    async def _organisme_a_jour(self, organisme_id: str, version: int) -> Organisme:
        """The organisme in memory, reloaded (règlement included) if the database has a newer version."""
        entry = self._organismes.get(organisme_id)
        if entry is not None and (
            entry[0] >= version or self._versions_refusees.get(organisme_id) == version
        ):
            return entry[1]
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(OrganismeRow).where(OrganismeRow.id == organisme_id))
            ).first()
        if row is None:  # deleted between the two reads: the key no longer leads anywhere usable
            raise ConfigurationError(f"L'organisme « {organisme_id} » n'existe plus.")
        try:
            organisme = await self._construire(row)
        except ConfigurationError:
            if entry is None:
                raise
            # A broken edit must not take a working organisme down: keep serving the previous one.
            self._versions_refusees[organisme_id] = row.version
            logger.error("organismes.reload_failed", organisme_id=organisme_id, version=row.version)
            return entry[1]
        self._organismes[organisme_id] = (row.version, organisme)
        logger.info("organismes.reloaded", organisme_id=organisme_id, version=row.version)
        return organisme

    async def _construire(self, row: Any) -> Organisme:
        chemin = chemin_reglement(row.reglement, self._reglements_dir)
        try:
            # Parsing YAML is blocking work: off the event loop.
            reglement, texte = await asyncio.to_thread(charger_avec_texte, chemin)
        except ReglementInvalide as e:
            raise ConfigurationError(f"Organisme « {row.id} » : règlement invalide : {e}") from e
        if self._archives is not None:
            try:
                # Its decisions name it: kept so they can be replayed once the file has moved on.
                await archiver(self._engine, row.id, reglement, texte, self._archives)
            except DATABASE_ERRORS as e:
                logger.error("organismes.archive_failed", organisme_id=row.id, error_type=type(e).__name__)
        scopes = row.scopes_habilitation
        return Organisme(
            id=row.id,
            nom=row.nom,
            siret=row.siret,
            reglement=reglement,
            api_particulier_token=self._chiffrement.dechiffrer(
                row.api_particulier_token_chiffre, organisme_id=row.id
            ),
            impot_client_id=row.impot_client_id,
            impot_client_secret=self._chiffrement.dechiffrer(
                row.impot_client_secret_chiffre, organisme_id=row.id
            ),
            scopes_habilitation=frozenset(scopes) if scopes is not None else None,
            coordonnees=Coordonnees.depuis_dict(row.coordonnees),
        )
