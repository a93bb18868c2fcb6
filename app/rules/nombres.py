"""The numbers the engine accepts: exact decimals within documented bounds, so that no input
number can make a request's work (comparisons through `Fraction`, formatting) grow without limit.

A fact, a parameter, a threshold or a bracket bound is a finite decimal whose magnitude is below
10^12 (a thousand billion: more than any amount, income or quotient an aid can depend on) with
at most 6 digits after the decimal point. NaN, infinities, `1e999999` and `1e-999999` are refused
with a French message; the caller gets a 422 naming the field.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Exclusive upper bound of a number's magnitude.
NOMBRE_MAX = Decimal("1e12")
#: Digits allowed after the decimal point.
DECIMALES_MAX = 6
#: Longest text read as a number (sign, 13 integral digits, point, 6 decimals, an exponent…).
TEXTE_MAX = 64

_PAS = Decimal(1).scaleb(-DECIMALES_MAX)
MESSAGE_BORNES = (
    f"doit être un nombre fini, inférieur à 10^12 en valeur absolue, avec au plus {DECIMALES_MAX} décimales"
)


class NombreHorsBornes(ValueError):
    """A number outside the documented bounds (or not a number); `str()` is the French message."""

    def __init__(self, message: str = MESSAGE_BORNES) -> None:
        super().__init__(message)


def borner(valeur: Decimal) -> Decimal:
    """`valeur` if it is finite, below NOMBRE_MAX and has at most DECIMALES_MAX decimals.

    Every check is cheap whatever the exponent (comparisons look at the adjusted exponent first),
    which is the point: `Fraction(Decimal("1e999999"))` alone builds a million-digit integer.
    """
    if not valeur.is_finite() or abs(valeur) >= NOMBRE_MAX:
        raise NombreHorsBornes
    if valeur != 0 and valeur.adjusted() < -DECIMALES_MAX:
        raise NombreHorsBornes
    # Both bounds hold: at most 18 significant digits, exact in the default 28-digit context.
    if valeur.quantize(_PAS) != valeur:
        raise NombreHorsBornes
    return valeur


def lire_nombre(texte: str) -> Decimal:
    """A bounded `Decimal` from its text (`"550"`, `"2.2"`, `"1e3"`); `NombreHorsBornes` otherwise."""
    texte = texte.strip()
    if len(texte) > TEXTE_MAX:
        raise NombreHorsBornes
    try:
        valeur = Decimal(texte)
    except InvalidOperation:
        raise NombreHorsBornes("doit être un nombre") from None
    return borner(valeur)
