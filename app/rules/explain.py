"""French sentences of a decision: numbers, periods, délibérations, conditions, motifs, CRPA mention.

Shown values are exact; a ratio that has no finite decimal form is shown rounded to the cent
(ROUND_HALF_UP) while the comparison itself is made on the exact value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any
from zoneinfo import ZoneInfo

from app.rules.derived import decimal_exact, termes
from app.rules.facts import Source
from app.rules.model import Deliberation, Reglement

_MOIS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_CENT = Decimal("0.01")
#: Beyond this many digits either side of the point, a number is shown in scientific notation.
_CHIFFRES_AFFICHES = 30
_ENTIER_COURT = 10**_CHIFFRES_AFFICHES

#: Verb of each operator (affirmative, negative) and the preposition that follows it.
VERBES: dict[str, tuple[str, str, str]] = {
    "<=": ("est inférieur ou égal", "n'est pas inférieur ou égal", "à"),
    "<": ("est inférieur", "n'est pas inférieur", "à"),
    ">=": ("est supérieur ou égal", "n'est pas supérieur ou égal", "à"),
    ">": ("est supérieur", "n'est pas supérieur", "à"),
    "==": ("est égal", "n'est pas égal", "à"),
    "!=": ("est différent", "n'est pas différent", "de"),
    "in": ("figure parmi", "ne figure pas parmi", ""),
    "not in": ("ne figure pas parmi", "figure parmi", ""),
}

#: Texts and booleans are not "greater" or "equal" in gender-neutral French: they "are worth".
VERBES_TEXTE: dict[str, tuple[str, str, str]] = {
    "==": ("vaut", "ne vaut pas", ""),
    "!=": ("ne vaut pas", "vaut", ""),
}


#: Dates a règlement declares, compared with a date: « est antérieure au 1er janvier 2021 ».
VERBES_DATE: dict[str, tuple[str, str, str]] = {
    "<": ("est antérieure au", "n'est pas antérieure au", ""),
    "<=": ("est antérieure ou égale au", "n'est pas antérieure ou égale au", ""),
    ">": ("est postérieure au", "n'est pas postérieure au", ""),
    ">=": ("est postérieure ou égale au", "n'est pas postérieure ou égale au", ""),
    "==": ("est le", "n'est pas le", ""),
    "!=": ("n'est pas le", "est le", ""),
}


def vers_decimal(valeur: int | Decimal | Fraction) -> Decimal:
    """An exact `Decimal` when there is one at the cent, else the value rounded to the cent."""
    if type(valeur) is Decimal:
        return valeur
    if type(valeur) is int:  # before the slow ABC check below
        return Decimal(valeur)
    if type(valeur) is Fraction or isinstance(valeur, Fraction):
        return decimal_du_rapport(valeur.numerator, valeur.denominator)
    return Decimal(valeur)


def decimal_du_rapport(numerateur: int, denominateur: int) -> Decimal:
    """`vers_decimal(Fraction(numerateur, denominateur))`, the ratio in lowest terms (denominateur
    > 0): its finite decimal form when it has one (`decimal_exact`), else the quotient rounded to
    the cent."""
    exact = decimal_exact(numerateur, denominateur)
    if exact is not None:
        return exact
    if au_centime_entier(numerateur, denominateur):
        return decimal_centimes(centimes(numerateur, denominateur), numerateur < 0)
    return (Decimal(numerateur) / Decimal(denominateur)).quantize(_CENT, rounding=ROUND_HALF_UP)


#: Below these, a ratio without finite decimal form is rounded to the cent with integers, with the
#: same result as `(Decimal(n) / Decimal(d)).quantize(_CENT, ROUND_HALF_UP)`: the division is then
#: off the exact ratio by at most half a unit in its 28th digit, ≤ 0.5e-10 (quotient < 1e18), while
#: the ratio n / d is at least 1 / (200 d) > 1e-10 away from any half cent (d < 5e7, n / d not
#: itself a half cent, having no finite decimal form): both round the same way.
_DENOMINATEUR_ENTIER = 5 * 10**7
_QUOTIENT_ENTIER = 10**18
_MOINS_ZERO_CENTIME = Decimal("-0.00")


def au_centime_entier(numerateur: int, denominateur: int) -> bool:
    """Whether `centimes` rounds this ratio (denominateur > 0, no finite decimal form) exactly as
    `decimal_du_rapport`'s `Decimal` division would (see `_DENOMINATEUR_ENTIER`)."""
    return (
        denominateur < _DENOMINATEUR_ENTIER
        and -_QUOTIENT_ENTIER * denominateur < numerateur < _QUOTIENT_ENTIER * denominateur
    )


def centimes(numerateur: int, denominateur: int) -> int:
    """numerateur / denominateur (denominateur > 0) in whole cents, rounded half away from zero
    (ROUND_HALF_UP), with integers only."""
    if numerateur >= 0:
        return (200 * numerateur + denominateur) // (2 * denominateur)
    return -((denominateur - 200 * numerateur) // (2 * denominateur))


def decimal_centimes(nombre_centimes: int, negatif: bool) -> Decimal:
    """The `Decimal` at the cent (two decimals) of a whole number of cents, as `quantize` gives it:
    « -0.00 » for a negative ratio rounded to zero."""
    if nombre_centimes == 0 and negatif:
        return _MOINS_ZERO_CENTIME
    # The same Decimal as `Decimal(nombre_centimes).scaleb(-2)`, more cheaply (exact: the cents of
    # a quotient below `_QUOTIENT_ENTIER` have fewer digits than the context's 28).
    return _CENT * nombre_centimes


#: The texts of the whole parts below a thousand and of the cents (« ,05 »), looked up rather than
#: formatted (a format spec such as `02d` costs more than the rest of `texte_centimes`).
_CENTAINES = tuple(str(n) for n in range(1000))
_CENTIMES = tuple(f",{n:02d}" for n in range(100))


def texte_centimes(nombre_centimes: int, unite: str | None) -> str:
    """What `nombre` writes of `decimal_centimes(nombre_centimes, …)`, with integers only:
    « 6,70 € », « 6,7 », « 1 234 € », « 0 » (never « -0 »)."""
    signe = ""
    if nombre_centimes < 0:
        signe, nombre_centimes = "-", -nombre_centimes
    entier, reste = divmod(nombre_centimes, 100)
    chiffres = _CENTAINES[entier] if entier < 1000 else f"{entier:,}".replace(",", " ")
    if reste:
        if unite == "€":  # the usual case, written at once
            return f"{signe}{chiffres}{_CENTIMES[reste]} €"
        texte = f"{signe}{chiffres}{_CENTIMES[reste].rstrip('0')}"
    else:
        texte = f"{signe}{chiffres}" if entier else "0"
    return f"{texte} {unite}" if unite else texte


def ecart_rapport(numerateur: int, denominateur: int, unite: str | None) -> tuple[Decimal, str]:
    """A margin numerateur / denominateur (denominateur > 0, any terms) at the cent
    (`decimal_du_rapport`) and the text of its absolute value (`nombre`), with integers when
    exact; the text is "" when the margin is zero (never written)."""
    commun = gcd(numerateur, denominateur)
    numerateur, denominateur = numerateur // commun, denominateur // commun
    if decimal_exact(numerateur, denominateur) is None and au_centime_entier(numerateur, denominateur):
        nombre_centimes = centimes(numerateur, denominateur)
        texte = texte_centimes(abs(nombre_centimes), unite) if nombre_centimes else ""
        return decimal_centimes(nombre_centimes, numerateur < 0), texte
    ecart = decimal_du_rapport(numerateur, denominateur)
    return ecart, nombre(abs(ecart), unite) if ecart else ""


def rapport_affiche(valeur: Fraction, unite: str | None) -> tuple[Decimal, str]:
    """A ratio as results carry it (`vers_decimal`) and as a sentence shows it
    (`afficher(vers_decimal(valeur), unite)`), rounded and written with integers when exact."""
    numerateur, denominateur = valeur.as_integer_ratio()
    exact = decimal_exact(numerateur, denominateur)
    if exact is None and au_centime_entier(numerateur, denominateur):
        nombre_centimes = centimes(numerateur, denominateur)
        return decimal_centimes(nombre_centimes, numerateur < 0), texte_centimes(nombre_centimes, unite)
    decimal = exact if exact is not None else decimal_du_rapport(numerateur, denominateur)
    return decimal, nombre(decimal, unite)


#: A ratio's whole cents are carried with its presentation (`rapport_au_centime`) when its
#: denominator is below this and its value below `_RAPPORT_CENTIMES` in absolute value: the margin
#: to any threshold at the cent then has a denominator below 100 times this (`_DENOMINATEUR_ENTIER`)
#: and a value below 1e18, so `ecart_rapport` rounds it with integers too, to the difference of
#: the two in whole cents (the ratio, without finite decimal form, never sits on a half cent).
DENOMINATEUR_CENTIMES = _DENOMINATEUR_ENTIER // 100
_RAPPORT_CENTIMES = 10**17


def rapport_au_centime(valeur: Fraction, unite: str | None) -> tuple[Decimal, str, int | None]:
    """`rapport_affiche`, and the ratio's whole cents (`centimes`) when it has no finite decimal
    form, its denominator is below `DENOMINATEUR_CENTIMES` and its value below 1e17 (most
    ratios: a reste à vivre, a revenu par UC), else None; in one call.

    The last ratio written is kept with its result (`_DERNIER_RAPPORT`): a leaf and an amount of
    one household write the same ratio object (a revenu par UC worked out once per household), one
    after the other. Held there, the object cannot be freed, so no other ratio is ever `is` it."""
    global _DERNIER_RAPPORT  # noqa: PLW0603 - one immutable entry, swapped whole
    dernier = _DERNIER_RAPPORT
    if dernier[0] is valeur and dernier[1] == unite:
        return dernier[2]  # type: ignore[no-any-return]
    numerateur, denominateur = termes(valeur)
    resultat: tuple[Decimal, str, int | None] | None = None
    if denominateur < DENOMINATEUR_CENTIMES and (
        -_RAPPORT_CENTIMES * denominateur < numerateur < _RAPPORT_CENTIMES * denominateur
    ):
        # Without its factors 2 and 5, as `decimal_exact`: anything left, no finite decimal form.
        reste = denominateur >> ((denominateur & -denominateur).bit_length() - 1)
        while reste % 5 == 0:
            reste //= 5
        if reste != 1:
            nombre_centimes = centimes(numerateur, denominateur)
            resultat = (
                decimal_centimes(nombre_centimes, numerateur < 0),
                texte_centimes(nombre_centimes, unite),
                nombre_centimes,
            )
    if resultat is None:
        resultat = (*rapport_affiche(valeur, unite), None)
    _DERNIER_RAPPORT = (valeur, unite, resultat)
    return resultat


#: `rapport_au_centime`'s last ratio, its unit and its result (none at first).
_DERNIER_RAPPORT: tuple[Any, str | None, Any] = (object(), None, None)


@lru_cache(maxsize=4096)
def nombre(valeur: int | Decimal | Fraction, unite: str | None = None) -> str:
    """`2 550 €`, `1,20 €`, `2,5`, `6 ans` (cached: the same amounts recur from one request to the next)."""
    if type(valeur) is int and -_ENTIER_COURT < valeur < _ENTIER_COURT:  # counts, ages, whole euros
        texte = f"{valeur:,}".replace(",", " ")
        return f"{texte} {unite}" if unite else texte
    d = vers_decimal(valeur)
    court = _nombre_court(d, unite) if d.is_finite() else None
    return court if court is not None else _nombre_general(d, unite)


def _nombre_general(d: Decimal, unite: str | None) -> str:
    """What `nombre` writes for any `Decimal` (`_nombre_court` is its quicker form for most)."""
    if not d.is_finite() or (d != 0 and abs(d.adjusted()) > _CHIFFRES_AFFICHES):
        # Total on any Decimal: the engine's bounds (app/rules/nombres.py) keep such values out,
        # but `int(Decimal("1e999999"))` would build a million-digit integer to print it.
        return f"{d} {unite}" if unite else str(d)
    if d == d.to_integral_value():
        texte = f"{int(d):,}".replace(",", " ")
    else:
        if unite == "€":
            d = d.quantize(_CENT, rounding=ROUND_HALF_UP)
        entier, _, decimales = format(d.normalize(), "f").partition(".")
        if unite == "€":
            decimales = decimales.ljust(2, "0")
        texte = f"{int(entier):,}".replace(",", " ") + "," + decimales
        if entier.startswith("-") and int(entier) == 0:
            texte = "-" + texte
    return f"{texte} {unite}" if unite else texte


def _nombre_court(d: Decimal, unite: str | None) -> str | None:
    """What `nombre` writes, from the text of a finite `Decimal` that prints without exponent and
    with at most two decimals (most values); None for any other."""
    brut = str(d)
    entier, _, decimales = brut.partition(".")
    if len(brut) > 28 or "E" in brut or len(decimales) > 2:  # 28: normalize would round beyond
        return None
    # The sign apart, and digits grouped by three only beyond three (most values need none).
    signe, chiffres = ("-", entier[1:]) if entier[0] == "-" else ("", entier)
    taille = len(chiffres)
    if taille > 3:  # « 1 450 », « 123 456 » by slicing (most amounts), longer ones by `format`
        chiffres = (
            f"{chiffres[:-3]} {chiffres[-3:]}" if taille <= 6 else f"{int(chiffres):,}".replace(",", " ")
        )
    if decimales and decimales.strip("0"):
        if unite == "€":  # the usual case, written at once: two decimals
            return (
                f"{signe}{chiffres},{decimales} €"
                if len(decimales) == 2
                else f"{signe}{chiffres},{decimales}0 €"
            )
        texte = f"{signe}{chiffres},{decimales.rstrip('0')}"
    elif chiffres == "0":
        texte = "0"  # never « -0 »
    elif unite == "€":  # whole euros, likewise
        return f"{signe}{chiffres} €"
    else:
        texte = f"{signe}{chiffres}"
    return f"{texte} {unite}" if unite else texte


def jour(d: date) -> str:
    """`1er janvier 2026`, `12 mars 2025`."""
    quantieme = "1er" if d.day == 1 else str(d.day)
    return f"{quantieme} {_MOIS[d.month - 1]} {d.year}"


#: French civil time: the day an instant falls on, for an agent in a French town hall.
HEURE_FRANCAISE = ZoneInfo("Europe/Paris")


def jour_de(instant: datetime) -> str:
    """The French day of an aware instant (`jour` of its date in Paris)."""
    return jour(instant.astimezone(HEURE_FRANCAISE).date())


def periode(texte: str | None) -> str | None:
    """`2026-10` → `octobre 2026`; `2025` → `revenus 2025`."""
    if texte is None:
        return None
    if len(texte) == 7:
        return f"{_MOIS[int(texte[5:]) - 1]} {texte[:4]}"
    return f"revenus {texte}"


def deliberation(d: Deliberation | None) -> str | None:
    return None if d is None else _deliberation(d)


@lru_cache(maxsize=512)
def _deliberation(d: Deliberation) -> str:
    return f"délibération n° {d.numero} du {jour(d.date)}"


def afficher(valeur: Any, unite: str | None) -> str:
    """A fact value or threshold in a French sentence."""
    genre = type(valeur)
    if genre is Fraction:  # what `nombre` does first: its memo then holds a Decimal, quicker to hash
        valeur, genre = vers_decimal(valeur), Decimal
    if genre is Decimal or genre is int:  # the usual cases first: `isinstance(…, Fraction)` is slow
        return nombre(valeur, unite)
    if genre is str or genre is date:
        return str(valeur) if genre is str else jour(valeur)
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int | Decimal | Fraction):
        return nombre(valeur, unite)
    if isinstance(valeur, tuple):
        return liste(valeur)
    return str(valeur)


def montrer(valeur: Any) -> Any:
    """A value as results carry it: exact numbers, ratios rounded to the cent, texts as is."""
    genre = type(valeur)
    if genre is Decimal or genre is int or genre is str:  # the usual cases, without the ABC check
        return valeur
    if isinstance(valeur, Fraction):
        return vers_decimal(valeur)
    if isinstance(valeur, int | Decimal | bool | str | tuple):
        return valeur
    return str(valeur)


#: How a non-provider origin reads in a sentence.
_ORIGINES = {
    "declaratif": "déclaré par l'agent",
    "demande": "saisi dans la demande",
    "simulation": "supposé pour la simulation",
}


#: Source texts by what they say (provider, certified, period): a few recur from one request to
#: the next. A stale answer's text (with the day it was obtained) is written each time, not kept.
_SOURCES: dict[tuple[str, bool, str | None], str] = {}
_SOURCES_EN_MEMO = 1024


def source(s: Source | None) -> str:
    """How a fact's provenance reads in a sentence: « avril 2026, CNAF, non certifié »."""
    if s is None:
        return ""
    if s.perime and s.obtenu_le is not None:
        return _source(s)
    cle = (s.fournisseur, s.certifie, s.periode)
    texte = _SOURCES.get(cle)
    if texte is None:
        if len(_SOURCES) >= _SOURCES_EN_MEMO:
            _SOURCES.clear()
        texte = _SOURCES[cle] = _source(s)
    return texte


def _source(s: Source) -> str:
    morceaux = [p for p in (periode(s.periode), _ORIGINES.get(s.fournisseur, s.fournisseur)) if p]
    if not s.certifie:
        morceaux.append("non certifié")
    if s.perime and s.obtenu_le is not None:
        # Stale-if-error: the agent must see that this value is an old answer, and why it was used.
        morceaux.append(f"obtenu le {jour_de(s.obtenu_le)}, source indisponible")
    return ", ".join(morceaux)


def avec(preposition: str, groupe: str) -> str:
    """`à` or `de` + noun phrase, with French contractions (au, aux, du, des)."""
    if not preposition:
        return groupe
    contractions = {"à": ("au ", "aux "), "de": ("du ", "des ")}[preposition]
    if groupe.startswith("le "):
        return contractions[0] + groupe[3:]
    if groupe.startswith("les "):
        return contractions[1] + groupe[4:]
    return f"{preposition} {groupe}"


def majuscule(texte: str) -> str:
    return texte[:1].upper() + texte[1:]


def liste(valeurs: Sequence[str], maximum: int = 6) -> str:
    if len(valeurs) <= maximum:
        return ", ".join(valeurs)
    return ", ".join(valeurs[:maximum]) + f"… ({len(valeurs)} valeurs)"


def pluriel(n: int, singulier: str, pluriel_: str) -> str:
    return singulier if n == 1 else pluriel_


def motif_eligible(n_conditions: int, montant: str | None) -> str:
    texte = (
        "Éligible : la condition est remplie."
        if n_conditions == 1
        else f"Éligible : les {n_conditions} conditions sont remplies."
    )
    return f"{texte} {montant}" if montant else texte


def motif_non_eligible(criteres: Sequence[str]) -> str:
    if not criteres:
        return "Non éligible : la combinaison des conditions n'est pas satisfaite."
    mot = pluriel(len(criteres), "condition non remplie", "conditions non remplies")
    return f"Non éligible : {mot} sur {', '.join(criteres)}."


def motif_a_verifier(criteres: Sequence[str], pieces: Sequence[str]) -> str:
    texte = f"À vérifier : donnée manquante, trop ancienne ou insuffisante pour {', '.join(criteres)}."
    if pieces:
        texte += f" {pluriel(len(pieces), 'Pièce', 'Pièces')} à demander : {' ; '.join(pieces)}."
    return texte


def mention(reglement: Reglement, organisme: str) -> str:
    """The applicant-facing mention of CRPA L.311-3-1, with the elements of R.311-3-1-2.

    `organisme` is the name of the organisme the decision is made for (its record, not the
    règlement's header: a règlement copied from another CCAS must not speak for it)."""
    return (
        "Cette proposition de décision a été établie à l'aide d'un traitement algorithmique "
        "(article L. 311-3-1 du code des relations entre le public et l'administration). "
        f"Elle applique le règlement « {reglement.libelle} » (version {reglement.version}), adopté par "
        f"l'organisme « {organisme} », "
        "à des données vous concernant, obtenues auprès des administrations qui les détiennent "
        "(CAF ou MSA, administration fiscale) ou déclarées lors de votre demande. "
        "Vous pouvez demander à cet organisme de vous communiquer, sous une forme intelligible, "
        "les règles de ce traitement et ses principales caractéristiques : le degré et le mode de "
        "contribution du traitement à la décision, les données traitées et leurs sources, les "
        "paramètres appliqués à votre situation et leur pondération, ainsi que les opérations "
        "effectuées (article R. 311-3-1-2 du même code). "
        "La décision est prise par un agent, qui examine votre dossier ; vous pouvez lui présenter "
        "toute pièce utile."
    )
