"""The applicant's identité pivot, validated by the rules of API Particulier v3 (contract §2.1).

Everything API Particulier would refuse with a 422 is refused here first, with a French message
naming the field, so that no upstream quota is spent on a request that cannot succeed.
The validation messages never echo the submitted value (it is personal data).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.rules.dates import DatePartielle, InvalidPartialDate

#: What French civil status writes (letters with their accents, Æ, Œ, Ÿ, apostrophe, space,
#: hyphen) within what API Particulier reads: a-z, Latin-1 letters (À-Ö, Ø-ö, ø-ÿ), plus the
#: three letters of French outside Latin-1, sent to it as OE, oe and Y (`nom_pour_api_particulier`).
_NAME = re.compile(r"^[a-zA-ZÀ-ÖØ-öø-ÿŒœŸ' \-]+\Z")
_HORS_LATIN1 = str.maketrans({"Œ": "OE", "œ": "oe", "Ÿ": "Y"})
#: Apostrophes a keyboard or a word processor types for the straight one.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})


def nom_pour_api_particulier(nom: str) -> str:
    """A validated name as API Particulier accepts it (contract §2.1: Latin-1 letters only)."""
    return nom.translate(_HORS_LATIN1)


_COMMUNE_COG = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}\Z", re.ASCII)
_PAYS_COG = re.compile(r"^(99\d{3}|92352)\Z", re.ASCII)
_DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-4]|976)\Z", re.ASCII)
_NUMERO_FISCAL = re.compile(r"^\d{13}\Z", re.ASCII)

PAYS_FRANCE = "99100"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def code_commune_cog(value: str | None, quoi: str) -> str | None:
    """A COG commune code (`08480`, `2A004`), upper-cased; `None` or empty stays `None`."""
    if not value:
        return None
    value = value.upper()
    if not _COMMUNE_COG.match(value):
        raise ValueError(f"le code COG de {quoi} compte 5 caractères (ex. 08480)")
    return value


def _check_name(value: str, what: str) -> str:
    # Checked on NFC: "É" typed as E + combining acute (macOS, some forms) is the same letter.
    value = unicodedata.normalize("NFC", value).translate(_APOSTROPHES).strip()
    if not value:
        raise ValueError(f"{what} ne doit pas être vide")
    if not _NAME.match(value):
        raise ValueError(
            f"{what} ne peut contenir que des lettres (accentuées comprises), des espaces, "
            "des apostrophes et des tirets"
        )
    return value


class Demandeur(BaseModel):
    """Identité pivot of the applicant (the allocataire), as the caller sends it."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "nom_naissance": "LEFEBVRE",
                    "nom_usage": None,
                    "prenoms": ["ALEXIS", "GÉRÔME", "JEAN-PHILIPPE"],
                    "sexe": "F",
                    "date_naissance": "1982-12-27",
                    "code_cog_insee_commune_naissance": "08480",
                    "code_cog_insee_pays_naissance": "99100",
                }
            ]
        },
    )

    nom_naissance: str = Field(max_length=100, description="Nom de naissance (obligatoire).")
    nom_usage: str | None = Field(default=None, max_length=100, description="Nom d'usage.")
    prenoms: Annotated[list[str], Field(min_length=1, max_length=3)] = Field(
        description="Un à trois prénoms, dans l'ordre de l'état civil."
    )
    sexe: Literal["M", "F"] = Field(description="Sexe à l'état civil : M ou F.")
    date_naissance: str | None = Field(
        default=None,
        description="AAAA, AAAA-MM ou AAAA-MM-JJ (date partielle admise).",
        examples=["1982-12-27", "1982-12", "1982"],
    )
    code_cog_insee_commune_naissance: str | None = Field(
        default=None, description="Code COG INSEE de la commune de naissance (nés en France)."
    )
    code_cog_insee_pays_naissance: str = Field(
        description="Code COG INSEE du pays de naissance (France : 99100)."
    )
    nom_commune_naissance: str | None = Field(
        default=None,
        max_length=100,
        description="Option 2 : nom de la commune de naissance, avec département et année.",
    )
    code_cog_insee_departement_naissance: str | None = Field(
        default=None, description="Option 2 : code du département de naissance."
    )
    numero_fiscal: str | None = Field(
        default=None,
        repr=False,
        description="Numéro fiscal (SPI, 13 chiffres). Utilisé le temps de la requête, jamais conservé.",
    )
    annee_des_revenus: int | None = Field(default=None, ge=2000, le=2100)

    @field_validator("sexe", mode="before")
    @classmethod
    def _sexe_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("nom_naissance")
    @classmethod
    def _nom_naissance(cls, value: str) -> str:
        return _check_name(value, "le nom de naissance")

    @field_validator("nom_usage")
    @classmethod
    def _nom_usage(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _check_name(value, "le nom d'usage")

    @field_validator("prenoms")
    @classmethod
    def _prenoms(cls, values: list[str]) -> list[str]:
        return [_check_name(v, "chaque prénom") for v in values]

    @field_validator("date_naissance")
    @classmethod
    def _date_naissance(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parsed = DatePartielle.parse(value)
        except InvalidPartialDate as e:
            raise ValueError(str(e)) from None
        if parsed.latest() < EARLIEST_BIRTH_DATE:
            raise ValueError("la date de naissance doit être postérieure au 1er janvier 1900")
        if parsed.earliest() > date.today() - timedelta(days=1):  # noqa: DTZ011 - civil date, not an instant
            raise ValueError("la date de naissance doit être antérieure à aujourd'hui")
        return parsed.isoformat()

    @field_validator("code_cog_insee_pays_naissance")
    @classmethod
    def _pays(cls, value: str) -> str:
        if not _PAYS_COG.match(value):
            raise ValueError(
                "le code COG du pays de naissance compte 5 chiffres et commence par 99 (France : 99100)"
            )
        return value

    @field_validator("code_cog_insee_commune_naissance")
    @classmethod
    def _commune(cls, value: str | None) -> str | None:
        return code_commune_cog(value, "la commune de naissance")

    @field_validator("code_cog_insee_departement_naissance")
    @classmethod
    def _departement(cls, value: str | None) -> str | None:
        if value is None or not value:
            return None
        value = value.upper()
        if not _DEPARTEMENT.match(value):
            raise ValueError("le code du département de naissance est invalide (01 à 95, 2A, 2B, 971 à 976)")
        return value

    @field_validator("numero_fiscal")
    @classmethod
    def _numero_fiscal(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.replace(" ", "")
        if not _NUMERO_FISCAL.match(value):
            raise ValueError("le numéro fiscal compte 13 chiffres")
        return value

    @model_validator(mode="after")
    def _lieu_de_naissance(self) -> Demandeur:
        if self.code_cog_insee_pays_naissance != PAYS_FRANCE:
            # API Particulier ignores the commune of people born abroad; so do we.
            self.code_cog_insee_commune_naissance = None
            return self
        if self.code_cog_insee_commune_naissance:
            return self
        option_2 = (
            self.nom_commune_naissance and self.code_cog_insee_departement_naissance and self.date_naissance
        )
        if not option_2:
            raise ValueError(
                "pour une personne née en France, indiquer code_cog_insee_commune_naissance, "
                "ou nom_commune_naissance avec code_cog_insee_departement_naissance et "
                "date_naissance"
            )
        return self

    @property
    def date_naissance_partielle(self) -> DatePartielle | None:
        return DatePartielle.parse(self.date_naissance) if self.date_naissance else None
