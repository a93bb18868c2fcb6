"""The date patterns of the contract say exactly what the parsers accept: a client that checks a
value against the schema before sending it is never refused for its format, nor told it is fine
when it is not."""

from __future__ import annotations

import re
from itertools import product

import pytest

from app.rules.dates import DatePartielle, InvalidPartialDate
from app.schemas.formats import DATE_PARTIELLE_AMONT_PATTERN, DATE_PARTIELLE_PATTERN

ANNEES = ["0000", "0001", "0400", "1900", "1904", "1999", "2000", "2023", "2024", "2100", "9999"]
TEXTES = [
    *ANNEES,
    *(f"{a}-{m:02d}" for a, m in product(ANNEES, range(14))),
    *(f"{a}-{m:02d}-{j:02d}" for a, m, j in product(ANNEES, range(14), range(33))),
    "",
    "  2024-02-29 ",
    "2024-2-1",
    "24-02-01",
    "2024/02/01",
    "2024-02-01T00:00",
]


def _accepte(texte: str, parse: object) -> bool:
    try:
        parse(texte)  # type: ignore[operator]
    except InvalidPartialDate:
        return False
    return True


@pytest.mark.parametrize(
    ("pattern", "parse"),
    [
        (DATE_PARTIELLE_PATTERN, DatePartielle.parse),
        (DATE_PARTIELLE_AMONT_PATTERN, DatePartielle.parse_upstream),
    ],
)
def test_the_date_pattern_accepts_exactly_what_the_parser_accepts(pattern: str, parse: object) -> None:
    compile = re.compile(pattern)
    desaccords = [t for t in TEXTES if bool(compile.search(t)) != _accepte(t, parse)]

    assert len(TEXTES) > 5000
    assert desaccords == []
