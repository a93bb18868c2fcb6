"""The numéro fiscal (SPI), validated locally and held so that it never leaks into a log or a repr.

DGFiP's terms of use forbid keeping it beyond the transaction: the value lives only inside a
`NumeroFiscal` object, whose `repr` and `str` are masked, and is revealed only to build the URL.
"""

from __future__ import annotations

from typing import Final

from stdnum.exceptions import ValidationError
from stdnum.fr import nif

from app.errors import FieldError, InvalidInput

#: Public sandbox SPIs that the real DGFiP sandbox answers although their check key is wrong
#: (`int(spi[:10]) % 511` differs from the last three digits). They are accepted only by a client
#: built in sandbox mode, so that a typo in production never costs an upstream call.
SPI_BAC_A_SABLE_SANS_CLE: Final[frozenset[str]] = frozenset({"3999999899410", "3999999776202"})

CHAMP_NUMERO_FISCAL = "demandeur.numero_fiscal"
_MASQUE = "*" * 13


class NumeroFiscal:
    """A validated SPI. `repr`/`str` are masked; `reveler()` is the one way to read it."""

    __slots__ = ("_valeur",)

    def __init__(self, valeur: str) -> None:
        self._valeur = valeur

    @classmethod
    def valider(cls, texte: str, *, bac_a_sable: bool = False) -> NumeroFiscal:
        """Check 13 digits and the check key; raise `InvalidInput` (naming the field, not the value)."""
        compact = texte.replace(" ", "").strip()
        if len(compact) != 13 or not compact.isdigit():
            raise _invalide("le numéro fiscal compte 13 chiffres")
        if bac_a_sable and compact in SPI_BAC_A_SABLE_SANS_CLE:
            return cls(compact)
        try:
            nif.validate(compact)
        except ValidationError:
            # The stdnum message is generic, but we still write our own: it must never echo input.
            raise _invalide("le numéro fiscal n'est pas valide (clé de contrôle incorrecte)") from None
        return cls(compact)

    def reveler(self) -> str:
        """The 13 digits, for the upstream URL only: never log, cache, journal or print them."""
        return self._valeur

    def __repr__(self) -> str:
        return f"NumeroFiscal('{_MASQUE}')"

    def __str__(self) -> str:
        return _MASQUE

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumeroFiscal) and other._valeur == self._valeur

    def __hash__(self) -> int:
        return hash(("NumeroFiscal", self._valeur))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would be a way to persist it (a cache, a queue): refuse loudly.
        raise TypeError("un numéro fiscal ne se sérialise pas")


def _invalide(message: str) -> InvalidInput:
    return InvalidInput.for_fields([FieldError(champ=CHAMP_NUMERO_FISCAL, message=message)])
