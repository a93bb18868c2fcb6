"""Partial dates, as the State's APIs give them: a year, maybe a month, maybe a day.

Birth dates from API Particulier may carry `00` for an unknown month or day (`"2020-00-00"`), or be
entirely unknown (`"0000-00-00"`). An age computed from a partial date is an interval, never a guess.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z")


class InvalidPartialDate(ValueError):
    """The text is not a (partial) date; the message is French and safe to show."""


@dataclass(frozen=True, slots=True, order=True)
class DatePartielle:
    """A date of which the month and the day may be unknown (`None`)."""

    annee: int
    mois: int | None = None
    jour: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.annee <= 9999:
            raise InvalidPartialDate("l'année doit compter quatre chiffres")
        if self.mois is None and self.jour is not None:
            raise InvalidPartialDate("un jour sans mois n'est pas une date")
        if self.mois is not None and not 1 <= self.mois <= 12:
            raise InvalidPartialDate("le mois doit être compris entre 01 et 12")
        if self.mois is not None and self.jour is not None:
            last_day = calendar.monthrange(self.annee, self.mois)[1]
            if not 1 <= self.jour <= last_day:
                raise InvalidPartialDate("ce jour n'existe pas dans ce mois")

    @classmethod
    def parse(cls, text: str) -> DatePartielle:
        """Read `AAAA`, `AAAA-MM` or `AAAA-MM-JJ`, with `00` meaning unknown month or day."""
        match = _PARTIAL_DATE.match(text.strip())
        if match is None:
            raise InvalidPartialDate("la date doit s'écrire AAAA, AAAA-MM ou AAAA-MM-JJ")
        year = int(match.group(1))
        month, day = (int(part) if part is not None else None for part in match.groups()[1:])
        if month == 0:
            if day not in (None, 0):
                raise InvalidPartialDate("un jour sans mois n'est pas une date")
            month, day = None, None
        if day == 0:
            day = None
        return cls(year, month, day)

    @classmethod
    def parse_upstream(cls, text: str | None) -> DatePartielle | None:
        """Like `parse`, but `None`, `""` and `"0000-00-00"` mean "unknown" (returns `None`)."""
        if text is None or not text.strip() or text.strip().startswith("0000"):
            return None
        return cls.parse(text)

    @property
    def est_complete(self) -> bool:
        return self.jour is not None

    def earliest(self) -> date:
        """The first calendar day this partial date can be."""
        return date(self.annee, self.mois or 1, self.jour or 1)

    def latest(self) -> date:
        """The last calendar day this partial date can be."""
        month = self.mois or 12
        day = self.jour or calendar.monthrange(self.annee, month)[1]
        return date(self.annee, month, day)

    def age_bounds(self, reference: date) -> tuple[int, int]:
        """The youngest and the oldest age (in whole years) the person can have at `reference`."""
        if self.jour is not None:  # a full date (the usual case): one age, without building dates
            age = reference.year - self.annee - ((reference.month, reference.day) < (self.mois, self.jour))
            return age, age
        return _age(self.latest(), reference), _age(self.earliest(), reference)

    def isoformat(self) -> str:
        """`AAAA`, `AAAA-MM` or `AAAA-MM-JJ`: only what is known."""
        text = f"{self.annee:04d}"
        if self.mois is not None:
            text += f"-{self.mois:02d}"
        if self.jour is not None:
            text += f"-{self.jour:02d}"
        return text

    def __str__(self) -> str:
        return self.isoformat()


def _age(birth: date, reference: date) -> int:
    """Whole years between `birth` and `reference` (a person born 29 February turns a year on 1 March)."""
    years = reference.year - birth.year
    if (reference.month, reference.day) < (birth.month, birth.day):
        years -= 1
    return years
