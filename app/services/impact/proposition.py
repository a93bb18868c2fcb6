"""The proposed règlement a board is about to vote: a whole YAML text, or the current règlement with
some parameters given new values from an effective date.

Replayed on past decisions, a proposal is applied as if it had been in force on each decision's
reference date: with an effective date (`date_effet`), the parameters and barèmes in force on that
date are those applied to every earlier decision (a later dated value still applies from its own
date); without one, the proposal is evaluated as of each decision's own date, like any règlement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.errors import FieldError, InvalidInput
from app.rules.loader import ReglementInvalide, lire_reglement
from app.rules.model import Bareme, Parametre, Reglement, ValeurDatee, VersionBareme
from app.rules.nombres import lire_nombre
from app.rules.results import ReferenceReglement

#: Before any date a règlement names: a value moved there is in force on every replayed date.
_ORIGINE = date(1900, 1, 1)
#: Parameters one proposal may change (a board votes a handful; the bound keeps the work small).
PARAMETRES_MAX = 50
_TEXTE_LISTE = re.compile(r"^[^\x00-\x1f]{1,200}\Z")


@dataclass(frozen=True, slots=True)
class Proposition:
    """The règlement replayed as the proposal, and what the answer says of it."""

    reglement: Reglement
    reference: ReferenceReglement
    date_effet: date | None
    #: Names of the parameters changed (parameter mode), for the summary.
    parametres_modifies: tuple[str, ...] = ()


def depuis_yaml(texte: str, date_effet: date | None) -> Proposition:
    """A whole proposed règlement (422 naming the line of the first problem)."""
    try:
        reglement = lire_reglement(texte, "reglement-propose.yaml")
    except ReglementInvalide as e:
        raise InvalidInput.for_fields([FieldError("reglement", str(e))]) from None
    return Proposition(en_vigueur_des(reglement, date_effet), reglement.reference(), date_effet)


def depuis_parametres(actuel: Reglement, valeurs: Mapping[str, Any], date_effet: date) -> Proposition:
    """The current règlement with new values for some parameters, in force from `date_effet`."""
    erreurs: list[FieldError] = []
    parametres = dict(actuel.parametres)
    for nom, brut in valeurs.items():
        parametre = actuel.parametres.get(nom)
        if parametre is None:
            connus = ", ".join(sorted(actuel.parametres)) or "aucun"
            erreurs.append(
                FieldError(f"parametres.{nom}", f"paramètre inconnu du règlement (connus : {connus})")
            )
            continue
        try:
            valeur = _valeur(parametre, brut)
        except ValueError as e:
            erreurs.append(FieldError(f"parametres.{nom}", str(e)))
            continue
        anterieures = tuple(v for v in parametre.valeurs if v.depuis < date_effet)
        parametres[nom] = replace(parametre, valeurs=(*anterieures, ValeurDatee(date_effet, valeur, None)))
    if erreurs:
        raise InvalidInput.for_fields(erreurs)
    empreinte = hashlib.sha256(
        repr(
            (
                actuel.empreinte,
                date_effet.isoformat(),
                sorted((n, repr(parametres[n].valeurs[-1].valeur)) for n in valeurs),
            )
        ).encode()
    ).hexdigest()
    reglement = actuel.avec_valeurs(parametres)
    reference = ReferenceReglement(actuel.id, f"{actuel.version}+proposition", f"sha256:{empreinte}")
    return Proposition(en_vigueur_des(reglement, date_effet), reference, date_effet, tuple(sorted(valeurs)))


def _valeur(parametre: Parametre, brut: Any) -> Decimal | str | tuple[str, ...]:
    match parametre.type:
        case "liste":
            if not isinstance(brut, list) or not all(
                isinstance(v, str) and _TEXTE_LISTE.match(v) for v in brut
            ):
                raise ValueError("doit être une liste de textes (comme la valeur actuelle)")
            return tuple(brut)
        case "texte":
            if not isinstance(brut, str) or not _TEXTE_LISTE.match(brut):
                raise ValueError("doit être un texte de 1 à 200 caractères")
            return brut
    if isinstance(brut, bool) or not isinstance(brut, int | float | str | Decimal):
        raise ValueError("doit être un nombre")
    return lire_nombre(repr(brut) if isinstance(brut, float) else str(brut))


def en_vigueur_des(reglement: Reglement, date_effet: date | None) -> Reglement:
    """The règlement whose parameters and barèmes in force on `date_effet` are in force on every
    earlier day too (later dated values unchanged): how a proposal is applied to past decisions."""
    if date_effet is None:
        return reglement
    parametres = {nom: _parametre_des(p, date_effet) for nom, p in reglement.parametres.items()}
    baremes = {nom: _bareme_des(b, date_effet) for nom, b in reglement.baremes.items()}
    return reglement.avec_valeurs(parametres, baremes)


def _parametre_des(parametre: Parametre, jour: date) -> Parametre:
    courante = parametre.en_vigueur(jour)
    if courante is None:
        return parametre
    suivantes = tuple(v for v in parametre.valeurs if v.depuis > jour)
    return replace(parametre, valeurs=(replace(courante, depuis=_ORIGINE), *suivantes))


def _bareme_des(bareme: Bareme, jour: date) -> Bareme:
    courante = bareme.en_vigueur(jour)
    if courante is None:
        return bareme
    suivantes: Sequence[VersionBareme] = tuple(v for v in bareme.versions if v.depuis > jour)
    return replace(bareme, versions=(replace(courante, depuis=_ORIGINE), *suivantes))
