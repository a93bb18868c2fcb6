"""Date formats as exact JSON Schema patterns (ECMA-262): a value matches if and only if the
gateway's parser accepts it (`app.rules.dates.DatePartielle`), leap years included.
`tests/schemas/test_formats.py` holds each pattern to its parser over every month and day."""

from __future__ import annotations

#: Years 0001 to 9999.
_ANNEE = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
#: Leap years among them (divisible by 4, centuries only by 400).
_BISSEXTILE = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
_MOIS_JOUR = (
    "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
)


def date_partielle(annee: str = _ANNEE, bissextile: str = _BISSEXTILE) -> str:
    """AAAA, AAAA-MM or AAAA-MM-JJ, `00` for an unknown month or day (no day without a month)."""
    return f"({annee}(-00(-00)?|-(0[1-9]|1[0-2])(-00)?|-{_MOIS_JOUR})?|{bissextile}-02-29)"


#: A partial date, blanks around it allowed (the parser strips them).
DATE_PARTIELLE_PATTERN = rf"^\s*{date_partielle()}\s*$"
#: A partial date from a provider: also blank, or `0000…` for an unknown date.
DATE_PARTIELLE_AMONT_PATTERN = rf"^\s*(0000[\s\S]*|{date_partielle()})?\s*$"

#: UTF-8 byte order mark: how French spreadsheet software knows a CSV file is UTF-8.
BOM = "\ufeff"


def cellule_csv(valeur: object) -> str:
    """A CSV cell; one a spreadsheet would run as a formula (CSV injection, through a caller's
    dossier_ref) is quoted with a leading apostrophe."""
    texte = "" if valeur is None else str(valeur)
    return "'" + texte if texte[:1] in ("=", "+", "-", "@", "\t", "\r") else texte
