"""Replaying one journaled decision: under the règlement it was decided with (integrity) and under
the proposal (impact), compared at verdict level — status, amount, bracket, motif codes — never on
the French texts, which may be reworded without changing a decision.

`verdicts` is the one place an evaluation happens: the compiled verdict-only path of the rules
engine plugs in there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic_core import from_json

from app.rules.compiled import DispositifInconnu, ParametreSansValeur, compile_plan
from app.rules.derived import Catalogue, Foyer
from app.rules.facts import Fait, FaitIndisponible, Faits, Source
from app.rules.model import Reglement
from app.rules.plan import plan

# The journal's own reading of a source (one reading, wherever a source is read back).
from app.rules.serialization import _source_depuis_dict, faits_depuis_dict
from app.rules.simulation import convertir_valeur
from app.services.journal.rejeu import GS, RS, US, CopieRejeu


class Verdict(NamedTuple):
    """What a decision says for one aid, as compared: never its explanations. (A named tuple: a
    replay makes two per aid and decision, and a frozen dataclass costs three times as much.)"""

    statut: str
    montant: Decimal | None
    tranche: str | None
    #: Codes of the conditions that decided it (None: a record written before motif codes).
    decisives: tuple[str, ...] | None = None

    def meme_issue(self, autre: Verdict) -> bool:
        """Same status, amount and bracket: what the board sees change or not."""
        return self.statut == autre.statut and self.montant == autre.montant and self.tranche == autre.tranche

    def reproduit(self, journalise: Verdict) -> bool:
        """Same outcome and, when the journal kept them, the same motif codes."""
        return self.meme_issue(journalise) and (
            journalise.decisives is None or self.decisives is None or self.decisives == journalise.decisives
        )


def verdicts(
    reglement: Reglement, faits: Faits, date_reference: date, dispositifs: Sequence[str]
) -> dict[str, Verdict]:
    """Each chosen aid's verdict on `faits` at `date_reference` (the one evaluation of the replay):
    the plan compiled for that (règlement, date, aids), in its verdict-only mode — no sentence is
    built. Raises `DispositifInconnu` or `ParametreSansValeur` as the engine does."""
    return {
        v.dispositif: Verdict(v.statut.value, v.montant, v.tranche, v.decisives)
        for v in compile_plan(reglement, date_reference, dispositifs).verdicts(faits)
    }


def verdict_journalise(resultat: Mapping[str, Any]) -> Verdict:
    """A journaled result (`resultats[i]` of the record) as a verdict."""
    montant = resultat.get("montant")
    decisives = resultat.get("decisives")
    return Verdict(
        statut=str(resultat.get("statut")),
        # JSON numbers: their shortest text is the exact decimal written (decimal_as_json_number).
        montant=None if montant is None else Decimal(str(montant)),
        tranche=resultat.get("tranche"),
        decisives=None if decisives is None else tuple(str(c) for c in decisives),
    )


def verdict_compact(resultat: Sequence[Any]) -> Verdict:
    """A journaled result in the compact form (`[dispositif, libelle, statut, montant, tranche,
    decisives]`, app/services/journal/rejeu.py) as a verdict: as `verdict_journalise` reads it."""
    _, _, statut, montant, tranche, decisives = resultat
    return Verdict(
        statut=str(statut),
        montant=None if montant is None else Decimal(str(montant)),
        tranche=tranche,
        decisives=None if decisives is None else tuple(str(c) for c in decisives),
    )


#: Distinct facts (under a source) remembered by a `LecteurFaits` before it starts afresh.
_MEMOIRE_MAX = 50_000
#: What a fact the catalogue does not know reads as (dropped from the facts at the end).
_HORS_CATALOGUE: tuple[str, None] = ("", None)


class LecteurFaits:
    """The journaled facts of compact copies (`CopieRejeu`) as `Faits` for a catalogue: the same
    facts `faits_journalises` reads from the whole record (a fact the catalogue does not know is
    left out). A copy keeps each fact as a text under its source's text; each distinct (source,
    fact) is parsed and typed once, then found by its text — the facts of a source in one C-level
    pass (`dict.update` over the lookups), no per-fact Python work — and shared (they are
    immutable): a period's decisions repeat them (the same CNAF period, the same communes, the same
    household sizes…). A value seen under another source is converted once too.

    Per decision, only the copy's text is split (format 2's separators, here rather than through
    `CopieRejeu.groupes`, a generator) and each source looked up by its text alone in the
    catalogue's own memory (no key tuple built and hashed per source): ≈ 40 % fewer instructions
    than keyed by (catalogue, text); the unavailable facts, when there are any, are read once per
    distinct text."""

    __slots__ = ("_faits", "_indisponibles", "_nombre", "_sources", "_valeurs")

    def __init__(self) -> None:
        #: catalogue → source's text → {fact's text: (nom, Fait) or _HORS_CATALOGUE}.
        self._faits: dict[Catalogue, dict[str, dict[str, tuple[str, Fait | None]]]] = {}
        #: catalogue → text of the unavailable facts → those the catalogue knows.
        self._indisponibles: dict[Catalogue, dict[str, dict[str, FaitIndisponible]]] = {}
        self._nombre = 0
        self._sources: dict[str, Source | None] = {}
        #: (catalogue, fact's text) → its typed value.
        self._valeurs: dict[tuple[Catalogue, str], Any] = {}

    def faits(self, copie: CopieRejeu, catalogue: Catalogue, jour: date | None = None) -> Faits:
        """The copy's facts for `catalogue`; with `jour`, gathered straight into a `Foyer` for that
        reference date, which every plan of this catalogue evaluating them at that date then shares
        (its derived values worked out once for the original règlement and the proposal)."""
        texte, texte_indisponibles = copie.faits, copie.indisponibles
        if texte is None or texte_indisponibles is None:
            raise ValueError("décision journalisée sans ses faits")
        connus: dict[str, Any] = {} if jour is None else Foyer({}, jour)
        memoire = self._faits.get(catalogue)
        if memoire is None:
            memoire = self._faits[catalogue] = {}
        if texte:
            for groupe in texte.split(GS):
                texte_source, _, suite = groupe.partition(US)
                textes = suite.split(RS)
                lus = memoire.get(texte_source)
                try:
                    if lus is None:
                        raise KeyError(texte_source)
                    connus.update(map(lus.__getitem__, textes))
                except KeyError:
                    connus.update(map(self._nouveaux(catalogue, texte_source, textes).__getitem__, textes))
            connus.pop(_HORS_CATALOGUE[0], None)
        if texte_indisponibles == "[]":
            return Faits(connus=connus, indisponibles={})
        indisponibles = dict(self._indisponibles_de(catalogue, texte_indisponibles))
        return Faits(connus=connus, indisponibles=indisponibles)

    def _indisponibles_de(self, catalogue: Catalogue, texte: str) -> dict[str, FaitIndisponible]:
        """The unavailable facts of `texte` the catalogue knows, read once per distinct text (the
        caller copies the mapping: each decision's facts are its own)."""
        memoire = self._indisponibles.setdefault(catalogue, {})
        indisponibles = memoire.get(texte)
        if indisponibles is None:
            indisponibles = {}
            for nom, code, raison, source in from_json(texte):
                if nom in catalogue.faits:
                    indisponibles[nom] = FaitIndisponible(
                        code=str(code), raison=str(raison), source=_source_depuis_dict(source)
                    )
            if len(memoire) >= _MEMOIRE_MAX:
                memoire.clear()
            memoire[texte] = indisponibles
        return indisponibles

    def _nouveaux(
        self, catalogue: Catalogue, texte_source: str, textes: list[str]
    ) -> dict[str, tuple[str, Fait | None]]:
        """The remembered facts of a source, those of `textes` parsed and typed if they were not."""
        if self._nombre >= _MEMOIRE_MAX:
            for memoire in self._faits.values():
                memoire.clear()
            self._sources.clear()
            self._valeurs.clear()
            self._nombre = 0
        lus = self._faits.setdefault(catalogue, {}).setdefault(texte_source, {})
        if texte_source in self._sources:
            source = self._sources[texte_source]
        else:
            source = self._sources[texte_source] = _source_depuis_dict(from_json(texte_source))
        definitions = catalogue.faits
        for texte in textes:
            if texte in lus:
                continue
            nom, valeur = from_json(texte)
            definition = definitions.get(nom)
            if definition is None:
                lus[texte] = _HORS_CATALOGUE
                continue
            if source is None:
                raise ValueError(f"fait sans source : {nom}")
            cle = (catalogue, texte)
            typee = self._valeurs.get(cle)
            if typee is None:
                typee = self._valeurs[cle] = convertir_valeur(definition, valeur)
            lus[texte] = (nom, Fait(typee, source))
            self._nombre += 1
        return lus


def faits_journalises(contenu: Mapping[str, Any], catalogue: Catalogue) -> Faits:
    """The decision's journaled facts, as the given règlement reads them: a fact its catalogue does
    not know (declared by another version only) is left out, as if not collected."""
    faits = contenu.get("faits")
    if not isinstance(faits, Mapping):
        raise ValueError("décision journalisée sans ses faits")
    connus = {n: f for n, f in faits.get("connus", {}).items() if n in catalogue.faits}
    indisponibles = {n: f for n, f in faits.get("indisponibles", {}).items() if n in catalogue.faits}
    return faits_depuis_dict({"connus": connus, "indisponibles": indisponibles}, catalogue)


def faits_de_base(reglement: Reglement, dispositif: str) -> frozenset[str]:
    """The base facts (collected or declared, not derived) an aid of the règlement reads."""
    compile = plan(reglement).dispositifs.get(dispositif)
    return frozenset() if compile is None else compile.faits_de_base


#: Why a verdict could not be worked out, in the engine's terms, for the reasons counted apart.
ERREURS_EVALUATION = (DispositifInconnu, ParametreSansValeur, ValueError)
