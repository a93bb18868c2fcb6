"""The campaign flow: a file of applicants checked line by line as it streams, the valid lines
stored encrypted and queued by lots, then followed, exported, cancelled.

No line spends any quota before it is checked exactly as `POST /v1/eligibilite` checks a request;
an invalid line is listed (its number, the field, the French reason) and never stops the others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from app.errors import FieldError, InvalidInput, PayloadTooLarge, QueueUnavailable
from app.keys import KeyRing
from app.rules.engine import DispositifInconnu, ParametreSansValeur, verifier_applicable
from app.services.campagnes.broker import FileCampagnes
from app.services.campagnes.fichier import FichierInvalide, Format, LecteurCampagne, lignes_brutes
from app.services.campagnes.stockage import Avancement, Campagne, LigneExportee, StockageCampagnes
from app.services.eligibilite import FUSEAU_CCAS, EligibiliteService
from app.services.organismes import Appelant

#: Invalid lines listed in the 202 answer (all are counted).
ERREURS_LISTEES_MAX = 1000
#: Valid lines written per transaction while the file streams.
_LOT_ECRITURE = 500


@dataclass(frozen=True, slots=True)
class ErreurLigne:
    ligne: int
    champ: str
    message: str


@dataclass(slots=True)
class Lancement:
    campagne: Campagne
    lignes_valides: int = 0
    lignes_invalides: int = 0
    erreurs: list[ErreurLigne] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResultatLigne:
    """One line of the export: one applicant and one aid (or the line's failure)."""

    ligne: int
    dossier_ref: str | None
    etat: str
    dispositif: str | None
    statut: str | None
    montant: Any
    tranche: str | None
    motif: str | None
    decision_id: uuid.UUID | None
    erreur: str | None


@dataclass(frozen=True, slots=True)
class Limites:
    fichier_max_bytes: int
    max_lignes: int
    ligne_max_bytes: int
    lot_lignes: int


class CampagnesService:
    def __init__(
        self,
        *,
        stockage: StockageCampagnes,
        file: FileCampagnes,
        eligibilite: EligibiliteService,
        keyring: KeyRing,
        limites: Limites,
    ) -> None:
        self._stockage = stockage
        self._file = file
        self._eligibilite = eligibilite
        self._keyring = keyring
        self._limites = limites

    @property
    def file(self) -> FileCampagnes:
        return self._file

    async def lancer(
        self,
        appelant: Appelant,
        *,
        format_fichier: Format,
        morceaux: AsyncIterator[bytes],
        dispositifs: list[str] | None,
        date_reference: date | None,
    ) -> Lancement:
        organisme = appelant.organisme
        aujourd_hui = datetime.now(UTC).astimezone(FUSEAU_CCAS).date()
        try:
            verifier_applicable(organisme.reglement, date_reference or aujourd_hui, dispositifs)
        except DispositifInconnu as e:
            raise InvalidInput.for_fields([FieldError("dispositifs", str(e))]) from None
        except ParametreSansValeur as e:
            raise InvalidInput.for_fields([FieldError("date_reference", str(e))]) from None
        if not await self._file.ping():
            raise QueueUnavailable(
                "La file des campagnes (Redis) ne répond pas : la campagne n'a pas été enregistrée ; "
                "réessayer dans quelques instants."
            )
        campagne_id = await self._stockage.creer(
            organisme_id=organisme.id,
            client_id=appelant.client.id,
            date_reference=date_reference,
            dispositifs=dispositifs,
        )
        try:
            lancement, numeros = await self._enregistrer(
                appelant, campagne_id, format_fichier, morceaux, dispositifs, date_reference
            )
        except BaseException:
            # Nothing half-stored: a refused file leaves no campaign and no request behind.
            await self._stockage.supprimer(campagne_id)
            raise
        for debut in range(0, len(numeros), self._limites.lot_lignes):
            await self._file.envoyer(campagne_id, numeros[debut : debut + self._limites.lot_lignes])
        return lancement

    async def _enregistrer(  # noqa: PLR0917 - the campaign's parts, from `lancer`
        self,
        appelant: Appelant,
        campagne_id: uuid.UUID,
        format_fichier: Format,
        morceaux: AsyncIterator[bytes],
        dispositifs: list[str] | None,
        date_reference: date | None,
    ) -> tuple[Lancement, list[int]]:
        limites = self._limites
        lecteur = LecteurCampagne(
            format_fichier,
            dispositifs=dispositifs,
            date_reference=date_reference,
            ligne_max_bytes=limites.ligne_max_bytes,
        )
        brutes = lignes_brutes(
            morceaux, ligne_max_bytes=limites.ligne_max_bytes, fichier_max_bytes=limites.fichier_max_bytes
        )
        erreurs: list[ErreurLigne] = []
        numeros: list[int] = []
        a_ecrire: list[tuple[int, str | None, str]] = []
        invalides = 0
        try:
            async for ligne in lecteur.lire(brutes):
                if len(numeros) + invalides >= limites.max_lignes:
                    raise PayloadTooLarge(
                        f"Le fichier compte plus de {limites.max_lignes} demandeurs : le découper en "
                        "plusieurs campagnes."
                    )
                fautes = list(ligne.erreurs)
                if ligne.demande is not None:
                    try:
                        self._eligibilite.verifier_demandeur(ligne.demande, appelant)
                    except InvalidInput as e:
                        fautes = list(e.errors) or [FieldError("ligne", e.detail)]
                if fautes or ligne.demande is None:
                    invalides += 1
                    for faute in fautes:
                        if len(erreurs) < ERREURS_LISTEES_MAX:
                            erreurs.append(ErreurLigne(ligne.numero, faute.champ, faute.message))
                    continue
                numeros.append(ligne.numero)
                charge = ligne.demande.model_dump_json().encode()
                a_ecrire.append(
                    (ligne.numero, ligne.demande.dossier_ref, self._keyring.fernet.encrypt(charge).decode())
                )
                if len(a_ecrire) >= _LOT_ECRITURE:
                    await self._stockage.ajouter_lignes(campagne_id, a_ecrire)
                    a_ecrire.clear()
        except FichierInvalide as e:
            raise InvalidInput.for_fields(e.erreurs) from None
        await self._stockage.ajouter_lignes(campagne_id, a_ecrire)
        if not numeros:
            raise InvalidInput(
                "Aucune ligne valide dans le fichier : rien n'a été mis en file."
                if erreurs
                else "Le fichier ne contient aucun demandeur.",
                [FieldError(f"ligne {e.ligne} : {e.champ}", e.message) for e in erreurs[:50]]
                or [FieldError("fichier", "aucun demandeur")],
            )
        await self._stockage.fixer_totaux(campagne_id, valides=len(numeros), invalides=invalides)
        campagne = await self._stockage.lire(campagne_id)
        assert campagne is not None  # noqa: S101 - written just above
        return Lancement(campagne, len(numeros), invalides, erreurs), numeros

    async def lire(self, appelant: Appelant, campagne_id: uuid.UUID) -> tuple[Campagne, Avancement] | None:
        campagne = await self._stockage.lire(campagne_id, appelant.organisme.id)
        if campagne is None:
            return None
        return campagne, await self._stockage.avancement(campagne_id)

    async def lister(self, appelant: Appelant, *, limite: int) -> list[Campagne]:
        return await self._stockage.lister(appelant.organisme.id, limite=limite)

    async def annuler(self, appelant: Appelant, campagne_id: uuid.UUID) -> bool:
        campagne = await self._stockage.lire(campagne_id, appelant.organisme.id)
        if campagne is None:
            return False
        await self._stockage.annuler(campagne_id)
        return True

    async def exporter(self, campagne: Campagne) -> AsyncIterator[ResultatLigne]:
        """One result per applicant and aid, in file order; a failed or cancelled line once."""
        async for ligne in self._stockage.exporter(campagne.id):
            for resultat in self._resultats(ligne):
                yield resultat

    def _resultats(self, ligne: LigneExportee) -> list[ResultatLigne]:
        if ligne.etat != "faite" or ligne.resultats_chiffres is None:
            erreur = ligne.erreur_detail if ligne.etat == "echec" else None
            return [
                ResultatLigne(
                    ligne.numero, ligne.dossier_ref, ligne.etat, None, None, None, None, None, None, erreur
                )
            ]
        resultats: list[dict[str, Any]] = json.loads(
            self._keyring.fernet.decrypt(ligne.resultats_chiffres.encode())
        )
        return [
            ResultatLigne(
                ligne.numero,
                ligne.dossier_ref,
                ligne.etat,
                r.get("dispositif"),
                r.get("statut"),
                r.get("montant"),
                r.get("tranche"),
                r.get("motif"),
                ligne.decision_id,
                None,
            )
            for r in resultats
        ]

    async def relancer_inachevees(self) -> int:
        """Queue again every line left to do (after a restart of the embedded gateway, whose queue
        was in memory, or of a Redis that lost its streams): taking a line is idempotent."""
        relances = 0
        for campagne in await self._stockage.inachevees():
            numeros = await self._stockage.numeros_a_faire(campagne.id)
            for debut in range(0, len(numeros), self._limites.lot_lignes):
                await self._file.envoyer(campagne.id, numeros[debut : debut + self._limites.lot_lignes])
                relances += 1
        return relances
