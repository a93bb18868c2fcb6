"""Replaying one journaled decision: under the règlement it was decided with (integrity) and under
the proposal (impact), compared at verdict level — status, amount, bracket, motif codes — never on
the French texts, which may be reworded without changing a decision.

`verdicts` is the one place an evaluation happens: the compiled verdict-only path of the rules
engine plugs in there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from app.rules.compiled import DispositifInconnu, ParametreSansValeur, compile_plan
from app.rules.derived import Catalogue
from app.rules.facts import DefinitionFait, Fait, FaitIndisponible, Faits, Source
from app.rules.model import Reglement
from app.rules.plan import plan
from app.rules.serialization import faits_depuis_dict
from app.rules.simulation import convertir_valeur


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


#: Distinct sources and values remembered by a `LecteurFaits` before it starts afresh.
_MEMOIRE_MAX = 50_000


class LecteurFaits:
    """The journaled facts of compact copies (`rejeu_de`'s form) as `Faits` for a catalogue: the
    same facts `faits_journalises` reads from the whole record (a fact the catalogue does not know
    is left out), each distinct source and each distinct fact (name, value, source) built once and
    then shared (they are immutable): a period's decisions repeat them (the same CNAF period, the
    same communes, the same household sizes…)."""

    __slots__ = ("_faits", "_sources")

    def __init__(self) -> None:
        self._sources: dict[Any, Source] = {}
        self._faits: dict[Any, Fait] = {}

    def faits(self, rejeu: Mapping[str, Any], catalogue: Catalogue) -> Faits:
        connus_bruts, indisponibles_bruts = rejeu.get("connus"), rejeu.get("indisponibles")
        if connus_bruts is None or indisponibles_bruts is None:
            raise ValueError("décision journalisée sans ses faits")
        sources_brutes = rejeu["sources"]
        sources: list[Source | None] = [None] * len(sources_brutes)
        definitions = catalogue.faits
        memoire = self._faits
        connus: dict[str, Fait] = {}
        for nom, valeur, rang in connus_bruts:
            definition = definitions.get(nom)
            if definition is None:
                continue
            if rang is None:
                raise ValueError(f"fait sans source : {nom}")
            source = sources[rang]
            if source is None:
                source = sources[rang] = self._source(sources_brutes[rang])
            # The source by identity: the same text gives the same object (`_source`), which the
            # remembered fact keeps alive. The value's type too: True == 1 and "1" differ.
            cle: tuple[Any, ...] | None
            if type(valeur) is list:  # a list of people: keyed by its members' content
                cle = _cle_liste(catalogue, nom, valeur, id(source))
                fait = None if cle is None else memoire.get(cle)
            else:
                cle = (catalogue, nom, type(valeur), valeur, id(source))
                try:
                    fait = memoire.get(cle)
                except TypeError:  # another unhashable value (an object): converted each time
                    cle, fait = None, None
            connus[nom] = fait or self._nouveau(cle, definition, valeur, source)
        indisponibles: dict[str, FaitIndisponible] = {}
        for nom, code, raison, rang in indisponibles_bruts:
            if nom not in definitions:
                continue
            source = None
            if rang is not None:
                source = sources[rang]
                if source is None:
                    source = sources[rang] = self._source(sources_brutes[rang])
            indisponibles[nom] = FaitIndisponible(code=str(code), raison=str(raison), source=source)
        return Faits(connus=connus, indisponibles=indisponibles)

    def _nouveau(
        self, cle: tuple[Any, ...] | None, definition: DefinitionFait, valeur: Any, source: Source
    ) -> Fait:
        fait = Fait(convertir_valeur(definition, valeur), source)
        if cle is not None:
            if len(self._faits) >= _MEMOIRE_MAX:
                self._faits.clear()
            self._faits[cle] = fait
        return fait

    def _source(self, brute: Mapping[str, Any]) -> Source:
        cle = tuple(brute.items())
        source = self._sources.get(cle)
        if source is None:
            # As app/rules/serialization.py reads a source.
            obtenu_le = brute.get("obtenu_le")
            source = Source(
                fournisseur=str(brute["fournisseur"]),
                certifie=bool(brute["certifie"]),
                periode=brute.get("periode"),
                obtenu_le=datetime.fromisoformat(obtenu_le) if obtenu_le else None,
                depuis_cache=bool(brute.get("depuis_cache", False)),
                request_id=brute.get("request_id"),
                perime=bool(brute.get("perime", False)),
            )
            if len(self._sources) >= _MEMOIRE_MAX:
                self._sources.clear()
            self._sources[cle] = source
        return source


def _cle_liste(catalogue: Catalogue, nom: str, valeur: Any, source: int) -> tuple[Any, ...] | None:
    """The key of a fact whose value is a list of people (flat objects), None if it has none."""
    try:
        contenu = tuple(tuple(m.items()) for m in valeur)
        hash(contenu)
    except (AttributeError, TypeError):
        return None
    return (catalogue, nom, list, contenu, source)


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
