"""Facts supplied by a caller (simulations, règlement test cases), validated against the catalogue.

Such facts are never certified: their source is `simulation` unless a test case names another
provider. Numbers become `Decimal` through their text, so `2.2` stays exactly 2.2, within the bounds of
`app/rules/nombres.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.rules.derived import CATALOGUE, Catalogue
from app.rules.facts import (
    DefinitionFait,
    FactValue,
    Fait,
    FaitIndisponible,
    Faits,
    MembreFoyer,
    Source,
    TypeFait,
)
from app.rules.nombres import NOMBRE_MAX, NombreHorsBornes, borner, lire_nombre

_PERIODE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?\Z")
#: Persons in one list of a household (allocataires, enfants): far above any real household, and
#: a bound on the work of every age band (app/rules/budget.py).
PERSONNES_MAX = 50
_CLES_DETAILLEES = frozenset({"valeur", "periode", "fournisseur"})


class FaitsInvalides(ValueError):
    """Supplied facts refused; `erreurs` pairs each faulty field with a French message."""

    def __init__(self, erreurs: list[tuple[str, str]]) -> None:
        self.erreurs = erreurs
        super().__init__("; ".join(f"{champ} : {message}" for champ, message in erreurs))


def _nombre(brut: Any) -> Decimal:
    """A bounded exact decimal (app/rules/nombres.py); `ValueError` with a French message."""
    if isinstance(brut, bool):
        raise ValueError("doit être un nombre")
    if isinstance(brut, Decimal):
        return borner(brut)
    if isinstance(brut, int):
        # Compared before converting: a huge int would be a huge Decimal, then a huge Fraction.
        if abs(brut) >= NOMBRE_MAX:
            raise NombreHorsBornes
        return Decimal(brut)
    if isinstance(brut, float):
        # JSON numbers arrive as floats; their shortest text ("2.2") is what the caller wrote.
        # NaN and infinities (JSON's `NaN`, `Infinity`, `1e400`) are refused by the bounds.
        return lire_nombre(repr(brut))
    if isinstance(brut, str):
        return lire_nombre(brut)
    raise ValueError("doit être un nombre")


def _membre(brut: Any) -> MembreFoyer:
    if isinstance(brut, str):
        return MembreFoyer(date_naissance=DatePartielle.parse_upstream(brut))
    if isinstance(brut, Mapping):
        inconnues = set(brut) - {"date_naissance", "sexe"}
        if inconnues:
            raise ValueError(f"champ inconnu « {sorted(inconnues)[0]} » (admis : date_naissance, sexe)")
        naissance = brut.get("date_naissance")
        sexe = brut.get("sexe")
        if naissance is not None and not isinstance(naissance, str):
            raise ValueError("date_naissance doit s'écrire AAAA, AAAA-MM ou AAAA-MM-JJ")
        if sexe is not None and sexe not in ("F", "M"):
            raise ValueError("sexe doit valoir F ou M")
        return MembreFoyer(date_naissance=DatePartielle.parse_upstream(naissance), sexe=sexe)
    raise ValueError("chaque personne s'écrit {date_naissance: AAAA-MM-JJ}")


def _entier(brut: Any) -> int:
    valeur = _nombre(brut)
    if valeur != valeur.to_integral_value() or valeur < 0:
        raise ValueError("doit être un nombre entier positif")
    return int(valeur)


#: Lone UTF-16 surrogates (JSON's `"\ud800"`): not characters, they cannot be encoded as UTF-8.
_SUBSTITUT = re.compile("[\ud800-\udfff]")


def _texte(definition: DefinitionFait, brut: Any) -> str:
    if not isinstance(brut, str) or not brut:
        raise ValueError("doit être un texte non vide")
    if _SUBSTITUT.search(brut):
        raise ValueError("contient un caractère invalide")
    if definition.valeurs_admises and brut not in definition.valeurs_admises:
        admises = ", ".join(definition.valeurs_admises)
        raise ValueError(f"valeur non admise (valeurs admises : {admises})")
    return brut


def _borne(definition: DefinitionFait, valeur: Decimal | int) -> Decimal | int:
    """A declared number within the bounds its règlement sets."""
    bas, haut = definition.minimum, definition.maximum
    if (bas is not None and valeur < bas) or (haut is not None and valeur > haut):
        unite = f" {definition.unite}" if definition.unite else ""
        if bas is not None and haut is not None:
            raise ValueError(f"doit être compris entre {bas} et {haut}{unite}")
        if bas is not None:
            raise ValueError(f"doit être supérieur ou égal à {bas}{unite}")
        raise ValueError(f"doit être inférieur ou égal à {haut}{unite}")
    return valeur


def convertir_valeur(definition: DefinitionFait, brut: Any) -> FactValue:
    """The typed value of a catalogue fact, from JSON/YAML data; `ValueError` with a French message."""
    try:
        match definition.type:
            case TypeFait.NOMBRE:
                return _borne(definition, _nombre(brut))
            case TypeFait.ENTIER:
                return _borne(definition, _entier(brut))
            case TypeFait.BOOLEEN:
                if not isinstance(brut, bool):
                    raise ValueError("doit être vrai ou faux (true / false)")
                return brut
            case TypeFait.TEXTE:
                return _texte(definition, brut)
            case TypeFait.DATE:
                if not isinstance(brut, str):
                    raise ValueError("doit s'écrire AAAA, AAAA-MM ou AAAA-MM-JJ")
                return DatePartielle.parse(brut)
            case TypeFait.MEMBRES:
                if not isinstance(brut, list | tuple):
                    raise ValueError("doit être une liste de personnes")
                if len(brut) > PERSONNES_MAX:
                    raise ValueError(f"compte au plus {PERSONNES_MAX} personnes")
                return tuple(_membre(m) for m in brut)
    except InvalidPartialDate as exc:
        raise ValueError(str(exc)) from None
    raise ValueError("type de donnée inconnu")  # pragma: no cover - TypeFait is exhaustive


def lire_faits(
    donnees: Mapping[str, Any],
    *,
    indisponibles: Mapping[str, str] | None = None,
    fournisseur: str = "simulation",
    catalogue: Catalogue = CATALOGUE,
) -> Faits:
    """Validate every supplied fact, collecting all errors before refusing."""
    erreurs: list[tuple[str, str]] = []
    connus: dict[str, Fait] = {}
    for nom, donnee in donnees.items():
        brut = donnee
        definition = catalogue.faits.get(nom)
        if definition is None:
            if nom in catalogue.derives:
                erreurs.append((nom, "fait calculé par le moteur : fournissez les faits dont il dépend"))
            else:
                erreurs.append((nom, "fait inconnu du catalogue"))
            continue
        periode: str | None = None
        source_nom = fournisseur
        if isinstance(donnee, Mapping) and definition.type is not TypeFait.MEMBRES:
            inconnues = set(donnee) - _CLES_DETAILLEES
            if inconnues or "valeur" not in donnee:
                erreurs.append((nom, "s'écrit comme une valeur ou {valeur, periode, fournisseur}"))
                continue
            periode = donnee.get("periode")
            fournisseur_donne = donnee.get("fournisseur")
            if fournisseur_donne is not None and (
                not isinstance(fournisseur_donne, str) or _SUBSTITUT.search(fournisseur_donne)
            ):
                erreurs.append((f"{nom}.fournisseur", "doit être un texte"))
                continue
            source_nom = str(donnee.get("fournisseur") or fournisseur)
            if periode is not None and (not isinstance(periode, str) or not _PERIODE.match(periode)):
                erreurs.append((f"{nom}.periode", "doit s'écrire AAAA ou AAAA-MM"))
                continue
            brut = donnee["valeur"]
        try:
            valeur = convertir_valeur(definition, brut)
        except ValueError as exc:
            erreurs.append((nom, str(exc)))
            continue
        connus[nom] = Fait(valeur, Source(fournisseur=source_nom, certifie=False, periode=periode))
    absents: dict[str, FaitIndisponible] = {}
    for nom, raison in (indisponibles or {}).items():
        if nom not in catalogue.faits:
            erreurs.append((nom, "fait inconnu du catalogue"))
            continue
        absents[nom] = FaitIndisponible(code="non-fourni", raison=raison)
    if erreurs:
        raise FaitsInvalides(erreurs)
    return Faits(connus=connus, indisponibles=absents)


def lire_faits_simules(donnees: Mapping[str, Any], catalogue: Catalogue = CATALOGUE) -> Faits:
    """Facts of a `POST /v1/simulations` body: {"quotient_familial_caf": 550, "enfants": [...]}
    (`catalogue`: the simulated règlement's, for the facts it declares)."""
    if not isinstance(donnees, Mapping):
        raise FaitsInvalides([("faits", "doit être un objet JSON")])
    return lire_faits(donnees, catalogue=catalogue)
