"""The applicant's identité pivot, validated by the rules of API Particulier v3 (contract §2.1).

Everything API Particulier would refuse with a 422 is refused here first, with a French message
naming the field, so that no upstream quota is spent on a request that cannot succeed.
The validation messages never echo the submitted value (it is personal data).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.rules.dates import DatePartielle, InvalidPartialDate

PAYS_FRANCE = "99100"

#: Letters a-z, Latin-1 accented letters (À-Ö, Ø-ö, ø-ÿ), apostrophe, space, hyphen (SIADE).
_NAME = re.compile(r"^[a-zA-ZÀ-ÖØ-öø-ÿ' \-]+$")
_COMMUNE_COG = re.compile(r"^([013-9]\d|2[AB1-9])\d{3}$", re.ASCII)
_PAYS_COG = re.compile(r"^(99\d{3}|92352)$", re.ASCII)
_DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-4]|976)$", re.ASCII)
_NUMERO_FISCAL = re.compile(r"^\d{13}$", re.ASCII)

# The same rules as JSON Schema patterns (ECMA-262), so that a client can check before sending:
# every value they accept is accepted here (some the validators accept, they do not: spaces
# around a value, lower-case codes, an empty optional string).
#: A name: letters, apostrophes, spaces and hyphens, with at least one character that is not a space.
NOM_PATTERN = r"^ *[a-zA-ZÀ-ÖØ-öø-ÿ'\-][a-zA-ZÀ-ÖØ-öø-ÿ' \-]*$"
COMMUNE_COG_PATTERN = r"^([013-9][0-9]|2[ABab1-9])[0-9]{3}$"
PAYS_COG_PATTERN = _PAYS_COG.pattern
DEPARTEMENT_PATTERN = r"^(0[1-9]|[1-8][0-9]|9[0-5]|2[ABab]|97[1-4]|976)$"
#: AAAA, AAAA-MM or AAAA-MM-JJ from 1900 to 2025 (days up to 28 in the pattern: every month has them).
DATE_NAISSANCE_PATTERN = r"^(19[0-9]{2}|20[01][0-9]|202[0-5])(-(0[1-9]|1[0-2])(-(0[1-9]|1[0-9]|2[0-8]))?)?$"
NUMERO_FISCAL_PATTERN = r"^[0-9]{13}$"

#: Born in France: a commune code, or (option 2) the commune's name with département and birth date.
_LIEU_DE_NAISSANCE_FRANCE = {
    "if": {
        "properties": {"code_cog_insee_pays_naissance": {"const": PAYS_FRANCE}},
        "required": ["code_cog_insee_pays_naissance"],
    },
    "then": {
        "anyOf": [
            {
                "required": ["code_cog_insee_commune_naissance"],
                "properties": {
                    "code_cog_insee_commune_naissance": {"type": "string", "pattern": COMMUNE_COG_PATTERN}
                },
            },
            {
                "required": [
                    "nom_commune_naissance",
                    "code_cog_insee_departement_naissance",
                    "date_naissance",
                ],
                "properties": {
                    "nom_commune_naissance": {"type": "string", "pattern": "[^ ]"},
                    "code_cog_insee_departement_naissance": {
                        "type": "string",
                        "pattern": DEPARTEMENT_PATTERN,
                    },
                    "date_naissance": {"type": "string", "pattern": DATE_NAISSANCE_PATTERN},
                },
            },
        ]
    },
}

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
    value = value.strip()
    if not value:
        raise ValueError(f"{what} ne doit pas être vide")
    if not _NAME.match(value):
        raise ValueError(
            f"{what} ne peut contenir que des lettres (accentuées comprises), des espaces, "
            "des apostrophes et des tirets"
        )
    return value


class Demandeur(BaseModel):
    """Identité pivot du demandeur (l'allocataire), telle que l'appelant l'envoie."""

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
            ],
            **_LIEU_DE_NAISSANCE_FRANCE,
        },
    )

    nom_naissance: str = Field(
        max_length=100,
        description="Nom de naissance (obligatoire) : lettres, accentuées comprises, espaces, "
        "apostrophes et tirets.",
        json_schema_extra={"pattern": NOM_PATTERN},
    )
    nom_usage: str | None = Field(
        default=None,
        max_length=100,
        description="Nom d'usage (mêmes caractères que le nom de naissance).",
        json_schema_extra={"pattern": NOM_PATTERN},
    )
    prenoms: Annotated[
        list[Annotated[str, Field(json_schema_extra={"pattern": NOM_PATTERN, "maxLength": 100})]],
        Field(min_length=1, max_length=3),
    ] = Field(description="Un à trois prénoms, dans l'ordre de l'état civil.")
    sexe: Literal["M", "F"] = Field(description="Sexe à l'état civil : M ou F.")
    date_naissance: str | None = Field(
        default=None,
        description="AAAA, AAAA-MM ou AAAA-MM-JJ (date partielle admise), après le 1er janvier 1900 "
        "et avant aujourd'hui.",
        examples=["1982-12-27", "1982-12", "1982"],
        json_schema_extra={"pattern": DATE_NAISSANCE_PATTERN},
    )
    code_cog_insee_commune_naissance: str | None = Field(
        default=None,
        description="Code COG INSEE de la commune de naissance (nés en France ; ignoré sinon).",
        json_schema_extra={"pattern": COMMUNE_COG_PATTERN},
    )
    code_cog_insee_pays_naissance: str = Field(
        description="Code COG INSEE du pays de naissance (France : 99100).",
        json_schema_extra={"pattern": PAYS_COG_PATTERN},
    )
    nom_commune_naissance: str | None = Field(
        default=None,
        max_length=100,
        description="Option 2 : nom de la commune de naissance, avec département et date de naissance.",
    )
    code_cog_insee_departement_naissance: str | None = Field(
        default=None,
        description="Option 2 : code du département de naissance (01 à 95, 2A, 2B, 971 à 976).",
        json_schema_extra={"pattern": DEPARTEMENT_PATTERN},
    )
    numero_fiscal: str | None = Field(
        default=None,
        repr=False,
        description="Numéro fiscal (SPI, 13 chiffres). Utilisé le temps de la requête, jamais conservé.",
        json_schema_extra={"pattern": NUMERO_FISCAL_PATTERN},
    )
    annee_des_revenus: int | None = Field(
        default=None, ge=2000, le=2100, description="Année des revenus (API Impôt particulier)."
    )

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
