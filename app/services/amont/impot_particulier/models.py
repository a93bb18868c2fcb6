"""Tolerant models of API Impôt particulier's IR answers (assiettes, dernière situation, deux ans).

Every field is optional (the spec has no `required` list and DGFiP leaves out what the habilitation
does not cover); absent and null mean the same. Amounts are `Decimal`, read from the JSON text
without ever going through a float. Both spellings of the address keys are accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.rules.nombres import NOMBRE_MAX

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class DateNaissanceDgfip(BaseModel):
    """`{jour, mois, annee}`, all strings in the spec; numbers and `00`/empty parts are tolerated."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    jour: str | None = None
    mois: str | None = None
    annee: str | None = None

    @field_validator("jour", "mois", "annee", mode="before")
    @classmethod
    def _texte(cls, value: Any) -> Any:
        if isinstance(value, int | Decimal):
            return str(value)
        return _blank_to_none(value)

    def partielle(self) -> DatePartielle | None:
        """The birth date as a partial date, or `None` when unknown or unreadable."""
        if not self.annee or not self.annee.isdigit() or int(self.annee) == 0:
            return None
        text = f"{int(self.annee):04d}"
        if self.mois and self.mois.isdigit():
            text += f"-{int(self.mois):02d}"
            if self.jour and self.jour.isdigit():
                text += f"-{int(self.jour):02d}"
        try:
            return DatePartielle.parse(text)
        except InvalidPartialDate:
            return None


class AdresseFiscaleDetail(BaseModel):
    """`aftDetail`: the spec says `getcommune`/`getcodePostal`, the wire (2020 doc, clients) says
    `commune`/`codePostal`; both are read. `code_postal` holds "94300 VINCENNES" (code + town)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    complement_adresse: str | None = Field(default=None, alias="complementAdresse")
    voie: str | None = None
    commune: str | None = None
    code_postal: str | None = Field(default=None, alias="codePostal")

    @model_validator(mode="before")
    @classmethod
    def _orthographe_spec(cls, data: Any) -> Any:
        # The spec's JAXB-getter spelling: "getcommune" is read as "commune" (the wire spelling wins).
        if isinstance(data, dict):
            data = {
                (k.removeprefix("get") if k.startswith("get") and k[3:] not in data else k): v
                for k, v in data.items()
            }
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _texte(cls, value: Any) -> Any:
        return _blank_to_none(value)


class PersonnesACharge(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    nombre: int | None = Field(default=None, alias="nbPac")


@dataclass(frozen=True, slots=True)
class Declarant:
    """A déclarant of the foyer fiscal, as the identity guard and the pre-filling need it."""

    nom_naissance: str | None
    nom_usage: str | None
    prenoms: str | None
    date_naissance: DatePartielle | None


#: An amount as the engine accepts it (app/rules/nombres.py): an answer beyond is unreadable,
#: not a number that would stall the comparisons and the explanations.
Montant = Annotated[Decimal, Field(gt=-NOMBRE_MAX, lt=NOMBRE_MAX, allow_inf_nan=False)]


class SituationIR(BaseModel):
    """The IR data of one foyer fiscal for one année des revenus."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    annee_des_revenus: int | None = Field(default=None, alias="annRevenu")
    revenu_fiscal_de_reference: Montant | None = Field(default=None, alias="rfr")
    situation_familiale: str | None = Field(default=None, alias="sitFam")
    nombre_de_parts: Montant | None = Field(default=None, alias="nbPart")
    personnes_a_charge: PersonnesACharge | None = Field(default=None, alias="pac")
    impot_sur_le_revenu: Montant | None = Field(default=None, alias="montTotIr")
    impot_avant_imputations: Montant | None = Field(default=None, alias="impAvImput")
    revenu_brut_global: Montant | None = Field(default=None, alias="revenuBrutGlobal")
    revenu_imposable: Montant | None = Field(default=None, alias="revImposable")
    nom_naissance_declarant1: str | None = Field(default=None, alias="nmNaiDec1")
    nom_usage_declarant1: str | None = Field(default=None, alias="nmUsaDec1")
    prenoms_declarant1: str | None = Field(default=None, alias="prnmDec1")
    date_naissance_declarant1: DateNaissanceDgfip | None = Field(default=None, alias="dateNaisDec1")
    nom_naissance_declarant2: str | None = Field(default=None, alias="nmNaiDec2")
    nom_usage_declarant2: str | None = Field(default=None, alias="nmUsaDec2")
    prenoms_declarant2: str | None = Field(default=None, alias="prnmDec2")
    date_naissance_declarant2: DateNaissanceDgfip | None = Field(default=None, alias="dateNaisDec2")
    adresse_fiscale: str | None = Field(default=None, alias="aft")
    adresse_fiscale_detail: AdresseFiscaleDetail | None = Field(default=None, alias="aftDetail")
    date_mise_en_recouvrement: date | None = Field(default=None, alias="datRec")
    date_etablissement: date | None = Field(default=None, alias="datEtab")

    @field_validator(
        "situation_familiale",
        "nom_naissance_declarant1",
        "nom_usage_declarant1",
        "prenoms_declarant1",
        "nom_naissance_declarant2",
        "nom_usage_declarant2",
        "prenoms_declarant2",
        "adresse_fiscale",
        mode="before",
    )
    @classmethod
    def _texte(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("situation_familiale")
    @classmethod
    def _situation(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @field_validator("date_mise_en_recouvrement", "date_etablissement", mode="before")
    @classmethod
    def _date_lenient(cls, value: Any) -> date | None:
        # The raw format of datRec/datEtab is not published: ISO, JJ/MM/AAAA and AAAAMMJJ are read,
        # anything else is dropped rather than failing the whole answer.
        if not isinstance(value, str) or not value.strip():
            return None
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(value.strip()[:10], fmt).date()  # noqa: DTZ007 - a civil date
            except ValueError:
                continue
        return None

    @property
    def nombre_personnes_a_charge(self) -> int | None:
        return self.personnes_a_charge.nombre if self.personnes_a_charge else None

    @property
    def declarants(self) -> tuple[Declarant, ...]:
        """Déclarant 1, and déclarant 2 when the foyer has one (married or pacsed)."""
        result: list[Declarant] = []
        for nom, usage, prenoms, naissance in (
            (
                self.nom_naissance_declarant1,
                self.nom_usage_declarant1,
                self.prenoms_declarant1,
                self.date_naissance_declarant1,
            ),
            (
                self.nom_naissance_declarant2,
                self.nom_usage_declarant2,
                self.prenoms_declarant2,
                self.date_naissance_declarant2,
            ),
        ):
            if nom or usage or prenoms:
                partielle = naissance.partielle() if naissance else None
                result.append(Declarant(nom, usage, prenoms, partielle))
        return tuple(result)


_CODE_POSTAL = re.compile(r"^(\d{5})\s*(.*)\Z")


def separer_code_postal(code_postal_et_ville: str | None) -> tuple[str | None, str | None]:
    """DGFiP's `codePostal` is "94300 VINCENNES": return ("94300", "VINCENNES")."""
    if not code_postal_et_ville:
        return None, None
    match = _CODE_POSTAL.match(code_postal_et_ville.strip())
    if match is None:
        return None, code_postal_et_ville.strip() or None
    return match.group(1), match.group(2).strip() or None


@dataclass(frozen=True, slots=True)
class ReponseImpot:
    """One successful answer with its provenance; what `faits_impot` and the guards read.

    It holds no numéro fiscal: the answer can be cached and journaled without it.
    """

    annee_des_revenus: int  # the year asked for, or the one DGFiP chose (`annRevenu`, deux ans)
    situation: SituationIR
    ressource: str  # "assiettes", "derniere_situation", "derniere_situation_deux_ans"
    request_id: str  # the X-Correlation-ID sent with the call that returned it
    obtenu_le: datetime
