"""Which aids a proposal leaves as they were, at a date: their verdicts under the proposal are those
under the règlement the decision was made with, so a replay reuses them instead of evaluating again.

An aid's verdict (status, amount, tranche, motif codes) is a function of the facts and of what the
règlement defines for it at the date: its own definition (conditions, amount rule, codes), the
values in force of the parameters and barèmes it names, the freshness rules, the tables, and the
catalogue of facts (derived facts and their formulas). The proof is kept cheap and on the safe
side — anything it cannot show identical counts as different, and is evaluated:

- règlement-wide: the very same catalogue object (a proposal made of parameter values shares the
  current règlement's unless a fact the règlement computes reads a parameter: its formula must read
  the proposal's values, so it gets its own catalogue; a YAML proposal that declares facts has its
  own too; nothing is then reused),
  equal freshness rules and tables, the same parameter and barème names;
- at the date: the parameters and barèmes whose value in force differs (value compared by type,
  equality and text: 650 and 650.0 differ; the effective date and délibération, which only the
  explanations quote, are not compared; every other field is);
- per aid: an equal definition (dataclass equality of the whole tree, or the same written form but
  for the YAML line numbers, which only error messages quote), naming none of the differing
  parameters or barèmes — neither in the engine's own list of what it uses nor anywhere in its
  written form — and no differing name in the tables either.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date
from typing import Any

from app.rules.model import Dispositif, Reglement
from app.rules.plan import plan

#: Pairs (règlement, proposal) × dates remembered: replays group decisions by date.
_DATES_EN_CACHE = 4096


def _sans(objet: Any, ignores: frozenset[str]) -> tuple[Any, ...]:
    """The fields of a dataclass instance but `ignores`, for comparison."""
    return tuple(getattr(objet, f.name) for f in fields(objet) if f.name not in ignores)


def _meme_valeur(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and repr(a) == repr(b)


_SANS_VALEURS = frozenset({"valeurs", "ligne"})
_SANS_VERSIONS = frozenset({"versions", "ligne"})
_SANS_DATE = frozenset({"depuis", "deliberation"})


class Identites:
    """For one (règlement decided with, proposal) pair: the aids identical at each date (cached)."""

    __slots__ = ("_dates", "_ecrits", "_possible", "original", "proposition")

    def __init__(self, original: Reglement, proposition: Reglement) -> None:
        self.original = original
        self.proposition = proposition
        self._dates: dict[date, frozenset[str]] = {}
        self._ecrits: dict[str, str] = {}
        self._possible = original is proposition or (
            original.catalogue is proposition.catalogue
            and original.fraicheur == proposition.fraicheur
            and original.tables == proposition.tables
            and original.parametres.keys() == proposition.parametres.keys()
            and original.baremes.keys() == proposition.baremes.keys()
        )

    def a(self, jour: date) -> frozenset[str]:
        """The aids of the decided-with règlement whose verdict the proposal cannot change at `jour`."""
        identiques = self._dates.get(jour)
        if identiques is None:
            identiques = self._calculer(jour)
            if len(self._dates) >= _DATES_EN_CACHE:
                self._dates.clear()
            self._dates[jour] = identiques
        return identiques

    def _differents(self, jour: date) -> set[str]:
        """Names of the parameters and barèmes whose definition in force at `jour` differs."""
        a, b = self.original, self.proposition
        differents: set[str] = set()
        for nom, parametre in a.parametres.items():
            autre = b.parametres[nom]
            va, vb = parametre.en_vigueur(jour), autre.en_vigueur(jour)
            if _sans(parametre, _SANS_VALEURS) != _sans(autre, _SANS_VALEURS) or not (
                (va is None and vb is None)
                or (va is not None and vb is not None and _meme_valeur(va.valeur, vb.valeur))
            ):
                differents.add(nom)
        for nom, bareme in a.baremes.items():
            autre_bareme = b.baremes[nom]
            xa, xb = bareme.en_vigueur(jour), autre_bareme.en_vigueur(jour)
            if _sans(bareme, _SANS_VERSIONS) != _sans(autre_bareme, _SANS_VERSIONS) or not (
                (xa is None and xb is None)
                or (xa is not None and xb is not None and _sans(xa, _SANS_DATE) == _sans(xb, _SANS_DATE))
            ):
                differents.add(nom)
        return differents

    def _calculer(self, jour: date) -> frozenset[str]:
        a, b = self.original, self.proposition
        if a is b:
            return frozenset(d.id for d in a.dispositifs)
        if not self._possible:
            return frozenset()
        differents = self._differents(jour)
        if differents and _nomme(differents, repr(a.tables)):
            return frozenset()
        plan_a, plan_b = plan(a), plan(b)
        identiques = set()
        for dispositif in a.dispositifs:
            autre = b.dispositif(dispositif.id)
            if autre is None:
                continue
            ecrit = self._ecrit(dispositif)
            if not (autre == dispositif or (" at 0x" not in ecrit and _sans_lignes(autre) == ecrit)):
                continue
            pa, pb = plan_a.dispositifs[dispositif.id], plan_b.dispositifs[dispositif.id]
            if differents & (pa.parametres | pa.baremes | pb.parametres | pb.baremes):
                continue
            if differents and _nomme(differents, ecrit):
                continue
            identiques.add(dispositif.id)
        return frozenset(identiques)

    def _ecrit(self, dispositif: Dispositif) -> str:
        ecrit = self._ecrits.get(dispositif.id)
        if ecrit is None:
            ecrit = self._ecrits[dispositif.id] = _sans_lignes(dispositif)
        return ecrit


_LIGNE = re.compile(r"\bligne=(?:\d+|None)")


def _sans_lignes(dispositif: Dispositif) -> str:
    """The aid's whole written form (dataclass reprs, every field) but the YAML line numbers its
    parts carry (a proposal that adds a line above it moves them): equal texts, equal definitions."""
    return _LIGNE.sub("ligne=…", repr(dispositif))


def _nomme(noms: set[str], texte: str) -> bool:
    """Whether `texte` names one of `noms` as a whole word (or holds a value it cannot show)."""
    if " at 0x" in texte:  # an object without a readable form (a function…): assume it names them
        return True
    return any(re.search(rf"(?<![\w]){re.escape(nom)}(?![\w])", texte) for nom in noms)
