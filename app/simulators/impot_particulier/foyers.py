"""The simulator's foyers fiscaux (fixtures shipped in the package) and which year each can serve.

Each foyer has one situation template served for every millésime the calendar makes available
(the newest three, minus the foyer's `retard_millesimes`), with `annRevenu`, `datEtab` and `datRec`
set for the year asked. The calendar rule is restated here, not imported from the client, so that a
bug in the client's rule cannot hide behind the same bug in its simulator.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

#: Millésimes the simulator serves, newest first (DataPass offers N-1, N-2 and N-3 at most).
MILLESIMES_SERVIS: Final[int] = 3

DateFormat = Literal["iso", "fr", "compact"]
AddressSpelling = Literal["usage", "spec"]


def newest_taxed_year(today: date, switch: tuple[int, int] = (7, 22)) -> int:
    """DGFiP taxes year N around 22 July of N+1 (contract §8)."""
    return today.year - 1 if (today.month, today.day) >= switch else today.year - 2


@dataclass(frozen=True, slots=True)
class ErreurForcee:
    """An error every data call for this SPI answers."""

    statut: int
    code: int | None = None
    message: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Foyer:
    spi: str
    cas: str
    origine: str
    situation: dict[str, Any] = field(default_factory=dict)
    situation_avant_deces: dict[str, Any] | None = None
    retard_millesimes: int = 0
    deces: bool = False
    erreur: ErreurForcee | None = None

    def annees_disponibles(self, today: date) -> tuple[int, ...]:
        """Years this foyer's data can be asked for, newest first."""
        newest = newest_taxed_year(today) - self.retard_millesimes
        oldest = newest_taxed_year(today) - MILLESIMES_SERVIS + 1
        return tuple(range(newest, oldest - 1, -1))

    def situation_pour(
        self,
        annee: int,
        today: date,
        *,
        date_format: DateFormat = "iso",
        address_spelling: AddressSpelling = "usage",
    ) -> dict[str, Any]:
        """The raw DGFiP body for `annee`: before the death year a deceased foyer was a couple; for
        the death year this is the period after the death (what dernière situation returns)."""
        death_year = self.deces and annee == self.annees_disponibles(today)[0]
        template = self.situation
        if self.deces and not death_year and self.situation_avant_deces is not None:
            template = self.situation_avant_deces
        body = copy.deepcopy(template)
        body["annRevenu"] = annee
        body["datEtab"] = _format_date(date(annee + 1, 7, 7), date_format)
        body["datRec"] = _format_date(date(annee + 1, 7, 31), date_format)
        detail = body.get("aftDetail")
        if address_spelling == "spec" and isinstance(detail, dict):
            body["aftDetail"] = {
                ("get" + k if k in ("commune", "codePostal") else k): v for k, v in detail.items()
            }
        return body


def _format_date(value: date, date_format: DateFormat) -> str:
    if date_format == "fr":
        return value.strftime("%d/%m/%Y")
    if date_format == "compact":
        return value.strftime("%Y%m%d")
    return value.isoformat()


def _foyer(raw: dict[str, Any]) -> Foyer:
    erreur = raw.get("erreur")
    return Foyer(
        spi=raw["spi"],
        cas=raw["cas"],
        origine=raw["origine"],
        situation=raw.get("situation") or {},
        situation_avant_deces=raw.get("situation_avant_deces"),
        retard_millesimes=int(raw.get("retard_millesimes", 0)),
        deces=bool(raw.get("deces", False)),
        erreur=ErreurForcee(**erreur) if erreur else None,
    )


@cache
def foyers_par_defaut() -> dict[str, Foyer]:
    """The shipped foyers, by SPI (read once from the package, never from outside the repo)."""
    text = (
        resources.files("app.simulators.impot_particulier")
        .joinpath("fixtures/foyers.json")
        .read_text(encoding="utf-8")
    )
    return {f.spi: f for f in (_foyer(raw) for raw in json.loads(text)["foyers"])}
