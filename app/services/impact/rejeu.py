"""Replaying one journaled decision: under the règlement it was decided with (integrity) and under
the proposal (impact), compared at verdict level — status, amount, bracket, motif codes — never on
the French texts, which may be reworded without changing a decision.

`verdicts` is the one place an evaluation happens: the compiled verdict-only path of the rules
engine plugs in there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.rules.compiled import DispositifInconnu, ParametreSansValeur, compile_plan
from app.rules.derived import Catalogue
from app.rules.facts import Faits
from app.rules.model import Reglement
from app.rules.plan import plan
from app.rules.serialization import faits_depuis_dict


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a decision says for one aid, as compared: never its explanations."""

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
