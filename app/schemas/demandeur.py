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

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.schemas.formats import date_partielle

PAYS_FRANCE = "99100"

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
_SUBSTITUT = re.compile("[\ud800-\udfff]")

# The same rules as JSON Schema patterns (ECMA-262), so that a client can check before sending and
# schema-valid data is accepted; blanks around a value are allowed (the validators strip them), and
# an optional field may be blank (read as absent, like null).
#: Œ, œ, Ÿ and the typographic apostrophes are accepted too (read on NFC, sent as OE, oe, Y, ').
_LETTRE = "a-zA-ZÀ-ÖØ-öø-ÿŒœŸ'\u2019\u02bc\u2018\\-"
_NOM = f"[{_LETTRE}][{_LETTRE} ]*"
#: A name: letters, apostrophes, spaces and hyphens, with at least one that is not a space.
NOM_PATTERN = rf"^\s*{_NOM}\s*$"
NOM_OPTIONNEL_PATTERN = rf"^\s*({_NOM})?\s*$"
_COMMUNE = "([013-9][0-9]|2[ABab1-9])[0-9]{3}"
COMMUNE_COG_PATTERN = rf"^\s*({_COMMUNE})?\s*$"
PAYS_COG_PATTERN = r"^\s*(99[0-9]{3}|92352)\s*$"
_DEPARTEMENT_CODE = "(0[1-9]|[1-8][0-9]|9[0-5]|2[ABab]|97[1-4]|976)"
DEPARTEMENT_PATTERN = rf"^\s*{_DEPARTEMENT_CODE}?\s*$"
#: A partial date from 1900 to 2025 (a birth date must be after 1900 and before today).
_DATE_NAISSANCE = date_partielle(
    annee="(19[0-9]{2}|20[01][0-9]|202[0-5])",
    bissextile="(19(0[48]|[2468][048]|[13579][26])|20(0[048]|1[26]|2[04]))",
)
DATE_NAISSANCE_PATTERN = rf"^\s*({_DATE_NAISSANCE})?\s*$"
#: 13 digits, the first 0 to 3 (the check key, modulo 511 of the first ten, has no pattern form).
NUMERO_FISCAL_PATTERN = r"^\s*([0-3] *([0-9] *){11}[0-9])?\s*$"

#: Born in France: a commune code, or (option 2) the commune's name with département and birth date.
_LIEU_DE_NAISSANCE_FRANCE: dict[str, JsonValue] = {
    "if": {
        "properties": {
            "code_cog_insee_pays_naissance": {"type": "string", "pattern": rf"^\s*{PAYS_FRANCE}\s*$"}
        },
        "required": ["code_cog_insee_pays_naissance"],
    },
    "then": {
        "anyOf": [
            {
                "required": ["code_cog_insee_commune_naissance"],
                "properties": {
                    "code_cog_insee_commune_naissance": {"type": "string", "pattern": rf"^\s*{_COMMUNE}\s*$"}
                },
            },
            {
                "required": [
                    "nom_commune_naissance",
                    "code_cog_insee_departement_naissance",
                    "date_naissance",
                ],
                "properties": {
                    "nom_commune_naissance": {"type": "string", "pattern": "\\S"},
                    "code_cog_insee_departement_naissance": {
                        "type": "string",
                        "pattern": rf"^\s*{_DEPARTEMENT_CODE}\s*$",
                    },
                    "date_naissance": {"type": "string", "pattern": rf"^\s*{_DATE_NAISSANCE}\s*$"},
                },
            },
        ]
    },
}

#: The longest name, first name or commune name accepted.
LONGUEUR_MAX_NOM = 100
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
        json_schema_extra={"pattern": NOM_OPTIONNEL_PATTERN},
    )
    prenoms: Annotated[
        list[Annotated[str, Field(max_length=100, json_schema_extra={"pattern": NOM_PATTERN})]],
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
        description="Numéro fiscal (SPI, 13 chiffres, le premier de 0 à 3, les trois derniers étant "
        "les dix premiers modulo 511). Utilisé le temps de la requête, jamais conservé.",
        json_schema_extra={"pattern": NUMERO_FISCAL_PATTERN},
    )
    annee_des_revenus: int | None = Field(
        default=None,
        ge=2000,
        le=2100,
        description="Année des revenus (API Impôt particulier), antérieure à l'année de la date de "
        "référence ; la dernière disponible si absente.",
        # The schema's bound is the year before the current one (when the document is built).
        json_schema_extra=lambda schema: schema.update(
            anyOf=[
                {"type": "integer", "minimum": 2000, "maximum": date.today().year - 1},  # noqa: DTZ011
                {"type": "null"},
            ]
        ),
    )

    @field_validator("nom_naissance", "nom_usage", "nom_commune_naissance", "prenoms", mode="before")
    @classmethod
    def _longueur_brute(cls, value: object) -> object:
        # `maxLength` counts what was sent, blanks included (they are stripped afterwards).
        valeurs = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and len(v) > LONGUEUR_MAX_NOM for v in valeurs):
            raise ValueError(f"compte au plus {LONGUEUR_MAX_NOM} caractères")
        if any(isinstance(v, str) and _SUBSTITUT.search(v) for v in valeurs):
            # A lone surrogate is not a character: it could be neither hashed nor journaled.
            raise ValueError("contient un caractère invalide")
        return value

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
