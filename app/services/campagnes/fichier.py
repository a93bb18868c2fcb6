"""Reading a campaign file as it streams: CSV (documented header, `;` or `,`, UTF-8 with or without
BOM) or JSON Lines, one applicant per line, each checked like a `POST /v1/eligibilite` body.

Nothing here holds the whole file: lines are cut from the incoming chunks, checked and handed on
one by one, and a line longer than the bound is refused without being kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError

from app.errors import FieldError, PayloadTooLarge, field_errors_from_validation
from app.schemas.eligibilite import DemandeEligibilite

Format = Literal["csv", "jsonl"]

#: The identity columns of the CSV header, named as the fields of `demandeur`.
COLONNES_DEMANDEUR = (
    "nom_naissance",
    "nom_usage",
    "prenoms",
    "sexe",
    "date_naissance",
    "code_cog_insee_commune_naissance",
    "code_cog_insee_pays_naissance",
    "nom_commune_naissance",
    "code_cog_insee_departement_naissance",
    "numero_fiscal",
    "annee_des_revenus",
)
COLONNES_OBLIGATOIRES = ("dossier_ref", "nom_naissance", "prenoms", "sexe", "code_cog_insee_pays_naissance")
#: Any other column is a declared fact (`declaratif`), e.g. `commune_residence`.
EN_TETE_EXEMPLE = (
    "dossier_ref;nom_naissance;nom_usage;prenoms;sexe;date_naissance;code_cog_insee_commune_naissance;"
    "code_cog_insee_pays_naissance;numero_fiscal;commune_residence"
)
_CHAMPS_JSONL = frozenset({"dossier_ref", "demandeur", "declaratif"})


@dataclass(frozen=True, slots=True)
class Ligne:
    """One applicant line: its number in the file and its request, or why it is refused."""

    numero: int
    demande: DemandeEligibilite | None
    erreurs: tuple[FieldError, ...] = ()


class FichierInvalide(Exception):
    """The file as a whole cannot be read (no header, unknown columns…): a 422 naming it."""

    def __init__(self, erreurs: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.champ} : {e.message}" for e in erreurs))
        self.erreurs = erreurs


async def lignes_brutes(
    morceaux: AsyncIterator[bytes], *, ligne_max_bytes: int, fichier_max_bytes: int
) -> AsyncIterator[tuple[int, bytes | None]]:
    """(number, bytes) of each physical line, `None` for a line longer than `ligne_max_bytes`
    (dropped as it streams). Raises `PayloadTooLarge` past `fichier_max_bytes`."""
    tampon = bytearray()
    numero, recus, trop_longue = 0, 0, False
    async for morceau in morceaux:
        recus += len(morceau)
        if recus > fichier_max_bytes:
            raise PayloadTooLarge(
                f"Le fichier dépasse la taille maximale d'une campagne ({fichier_max_bytes} octets) : "
                "le découper en plusieurs campagnes."
            )
        tampon += morceau
        while True:
            fin = tampon.find(b"\n")
            if fin < 0:
                break
            numero += 1
            if trop_longue or fin > ligne_max_bytes:
                yield numero, None
            else:
                yield numero, bytes(tampon[:fin])
            trop_longue = False
            del tampon[: fin + 1]
        if len(tampon) > ligne_max_bytes:
            trop_longue = True
            tampon.clear()
    if tampon or trop_longue:
        numero += 1
        yield numero, None if trop_longue else bytes(tampon)


def _texte(brute: bytes, premiere: bool) -> str:
    texte = brute.decode("utf-8")
    if premiere:
        texte = texte.removeprefix("\ufeff")
    return texte.removesuffix("\r")


def _trop_longue(numero: int, ligne_max_bytes: int) -> Ligne:
    return Ligne(numero, None, (FieldError("ligne", f"ligne de plus de {ligne_max_bytes} octets"),))


class LecteurCampagne:
    """Turns the raw lines of one file into checked requests for the campaign's aids and date."""

    def __init__(
        self,
        format_fichier: Format,
        *,
        dispositifs: list[str] | None,
        date_reference: date | None,
        ligne_max_bytes: int,
    ) -> None:
        self._format = format_fichier
        self._dispositifs = dispositifs
        self._date_reference = date_reference
        self._ligne_max = ligne_max_bytes
        self._colonnes: list[str] | None = None
        self._separateur = ";"

    async def lire(self, brutes: AsyncIterator[tuple[int, bytes | None]]) -> AsyncIterator[Ligne]:
        premiere = True
        async for numero, brute in brutes:
            if brute is None:
                if premiere and self._format == "csv":
                    raise FichierInvalide([FieldError("en-tete", "ligne d'en-tête trop longue")])
                premiere = False
                yield _trop_longue(numero, self._ligne_max)
                continue
            try:
                texte = _texte(brute, premiere)
            except UnicodeDecodeError:
                if premiere and self._format == "csv":
                    raise FichierInvalide([FieldError("en-tete", "le fichier n'est pas en UTF-8")]) from None
                premiere = False
                yield Ligne(numero, None, (FieldError("ligne", "texte qui n'est pas de l'UTF-8"),))
                continue
            if premiere and self._format == "csv":
                premiere = False
                self._en_tete(texte)
                continue
            premiere = False
            if not texte.strip():
                continue  # a blank line (often the last one) is no applicant
            yield self._ligne(numero, texte)

    def _en_tete(self, texte: str) -> None:
        self._separateur = ";" if texte.count(";") >= texte.count(",") else ","
        colonnes = [c.strip().lower() for c in next(csv.reader([texte], delimiter=self._separateur))]
        erreurs = [
            FieldError("en-tete", f"colonne obligatoire absente : {nom}")
            for nom in COLONNES_OBLIGATOIRES
            if nom not in colonnes
        ]
        doublons = sorted({c for c in colonnes if colonnes.count(c) > 1})
        erreurs += [FieldError("en-tete", f"colonne en double : {nom}") for nom in doublons]
        if any(not c for c in colonnes):
            erreurs.append(FieldError("en-tete", "colonne sans nom"))
        if erreurs:
            raise FichierInvalide(erreurs)
        self._colonnes = colonnes

    def _ligne(self, numero: int, texte: str) -> Ligne:
        try:
            corps = self._corps_csv(texte) if self._format == "csv" else self._corps_jsonl(texte)
        except _LigneIllisible as e:
            return Ligne(numero, None, (FieldError("ligne", str(e)),))
        corps["dispositifs"] = self._dispositifs
        corps["date_reference"] = None if self._date_reference is None else self._date_reference.isoformat()
        try:
            demande = DemandeEligibilite.model_validate(corps)
        except ValidationError as e:
            return Ligne(numero, None, tuple(field_errors_from_validation(e.errors())))
        if demande.dossier_ref is None:
            return Ligne(numero, None, (FieldError("dossier_ref", "champ obligatoire"),))
        return Ligne(numero, demande)

    def _corps_csv(self, texte: str) -> dict[str, Any]:
        assert self._colonnes is not None  # noqa: S101 - the header comes first
        valeurs = next(csv.reader([texte], delimiter=self._separateur), [])
        if len(valeurs) != len(self._colonnes):
            raise _LigneIllisible(f"{len(valeurs)} colonnes au lieu de {len(self._colonnes)}")
        demandeur: dict[str, Any] = {}
        declaratif: dict[str, Any] = {}
        dossier_ref: str | None = None
        for colonne, brute in zip(self._colonnes, valeurs, strict=True):
            valeur = brute.strip() or None
            if colonne == "dossier_ref":
                dossier_ref = valeur
            elif colonne == "prenoms":
                demandeur["prenoms"] = valeur.split() if valeur else []
            elif colonne in COLONNES_DEMANDEUR:
                demandeur[colonne] = valeur
            elif valeur is not None:
                declaratif[colonne] = valeur
        return {"demandeur": demandeur, "dossier_ref": dossier_ref, "declaratif": declaratif}

    def _corps_jsonl(self, texte: str) -> dict[str, Any]:
        try:
            corps = json.loads(texte)
        except (ValueError, RecursionError):
            raise _LigneIllisible("JSON illisible") from None
        if not isinstance(corps, dict):
            raise _LigneIllisible("un objet JSON est attendu")
        inconnus = sorted(set(corps) - _CHAMPS_JSONL)
        if inconnus:
            raise _LigneIllisible("champ(s) inconnu(s) : " + ", ".join(inconnus[:5]))
        return dict(corps)


class _LigneIllisible(Exception):
    pass


def format_du_type(content_type: str | None) -> Format | None:
    """The file format a `Content-Type` announces, or None."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return "csv"
    if media in (
        "application/x-ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    ):
        return "jsonl"
    return None


#: A file sent without saying its format: recognised by its first character.
FICHIER_BINAIRE = "application/octet-stream"


async def format_reconnu(morceaux: AsyncIterator[bytes]) -> tuple[Format, AsyncIterator[bytes]]:
    """The format of a file by its first character (`{`: JSON Lines, else CSV), and the file
    whole again (the chunks read here are handed back first)."""
    lus: list[bytes] = []
    async for morceau in morceaux:
        lus.append(morceau)
        if morceau.strip():
            break
    debut = b"".join(lus).lstrip().removeprefix("\ufeff".encode()).lstrip()
    format_fichier: Format = "jsonl" if debut.startswith(b"{") else "csv"

    async def entier() -> AsyncIterator[bytes]:
        for morceau in lus:
            yield morceau
        async for morceau in morceaux:
            yield morceau

    return format_fichier, entier()


def lignes_csv_exemple() -> Iterator[str]:
    """The documented example file (README, OpenAPI)."""
    yield EN_TETE_EXEMPLE
    yield "D-2026-00042;LEFEBVRE;;ALEXIS GÉRÔME;F;1982-12-27;08480;99100;;08480"
