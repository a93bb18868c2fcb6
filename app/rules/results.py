"""What an evaluation returns: per aid, a status, an amount or bracket, and every condition explained.

These are plain dataclasses; the HTTP schemas and the journal serialise them. The three built on
every evaluation (`ConditionEvaluee`, `ResultatDispositif`, `Evaluation`) are not frozen, because a
frozen dataclass is several times slower to build, but they are values all the same: nothing
mutates them once returned, and they keep a hash by value. The others are frozen, being shared
between evaluations.

The compiled plan builds these three without their `__init__` (`object.__new__`, then every slot
assigned, in `champs_resultat` order: see `generation._nouveau` and `evaluation` below): a call to a
dataclass's `__init__` is a whole Python frame per object, and an evaluation builds 30 or more.
Same objects, same fields, same equality and hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.rules.facts import Source


class Statut(StrEnum):
    ELIGIBLE = "eligible"
    NON_ELIGIBLE = "non_eligible"
    A_VERIFIER = "a_verifier"


#: A value shown in a condition: numbers stay exact, lists (communes…) are tuples of strings.
ValeurAffichee = Decimal | int | bool | str | tuple[str, ...] | None


@dataclass(slots=True, unsafe_hash=True)
class ConditionEvaluee:
    """One leaf condition, evaluated, with everything needed to explain it."""

    critere: str  # the fact's name: "quotient_familial_caf", "nombre_enfants", …
    operateur: str  # "<=", "<", ">=", ">", "==", "!=", "in", "not in"
    seuil: ValeurAffichee  # the threshold as applied at the reference date
    valeur: ValeurAffichee  # the value used; None when missing
    satisfaite: bool | None  # None when the data is missing, stale or undecidable
    ecart: Decimal | None  # margin to the threshold, for numeric comparisons
    source: Source | None
    deliberation: str | None  # the délibération that set the threshold in force
    parametre: str | None  # name of the règlement parameter that gave the threshold, if any
    explication: str  # one French sentence
    piece_justificative: str | None = None  # proof to ask for when `satisfaite` is None
    code: str | None = None  # the condition's stable code in its aid (machine-readable motif)


@dataclass(slots=True, unsafe_hash=True)
class ResultatDispositif:
    dispositif: str
    libelle: str
    statut: Statut
    motif: str  # summary sentence in French
    conditions: tuple[ConditionEvaluee, ...]
    montant: Decimal | None = None
    tranche: str | None = None
    pieces_justificatives: tuple[str, ...] = ()
    base_legale: str | None = None
    deliberation: str | None = None
    #: Codes of the conditions (leaves or groups) the motif names: those that decided the outcome.
    decisives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReferenceReglement:
    id: str
    version: str
    empreinte: str  # "sha256:<hex>" of the règlement's canonical content


@dataclass(frozen=True, slots=True)
class ParametreApplique:
    """A parameter value in force at the reference date, pinned in the decision record."""

    nom: str
    valeur: Decimal | str | tuple[str, ...]
    depuis: date
    deliberation: str | None


@dataclass(frozen=True, slots=True)
class TrancheAppliquee:
    """One bracket of a barème: `de` <= value < `moins_de` (a missing bound is open)."""

    de: Decimal | None
    moins_de: Decimal | None
    montant: Decimal | None
    libelle: str | None
    jusqu_a: Decimal | None = None  # inclusive upper bound (the other convention)
    plus_de: Decimal | None = None  # exclusive lower bound
    montants: tuple[Decimal, ...] | None = None  # a two-entry grid's row: one amount per column


@dataclass(frozen=True, slots=True)
class BaremeApplique:
    """A barème version in force at the reference date, pinned in the decision record."""

    nom: str
    depuis: date
    deliberation: str | None
    tranches: tuple[TrancheAppliquee, ...]


@dataclass(slots=True, unsafe_hash=True)
class Evaluation:
    reglement: ReferenceReglement
    date_reference: date
    resultats: tuple[ResultatDispositif, ...]
    parametres_appliques: tuple[ParametreApplique, ...] = ()
    faits_utilises: tuple[str, ...] = field(default=())
    baremes_appliques: tuple[BaremeApplique, ...] = ()


def champs_resultat(classe: type) -> tuple[str, ...]:
    """The fields of one of the result dataclasses above (or `compiled.Verdict`), in their
    declaration order: what code
    building it with `object.__new__` must assign, every one of them (a slot left unassigned would
    raise `AttributeError` on reading)."""
    return tuple(f.name for f in fields(classe))


_NOUVELLE = object.__new__


def evaluation(  # noqa: PLR0917 - the dataclass's fields, in order
    reglement: ReferenceReglement,
    date_reference: date,
    resultats: tuple[ResultatDispositif, ...],
    parametres_appliques: tuple[ParametreApplique, ...],
    faits_utilises: tuple[str, ...],
    baremes_appliques: tuple[BaremeApplique, ...],
) -> Evaluation:
    """`Evaluation(…)` with every field given, without the dataclass's `__init__` frame."""
    e = _NOUVELLE(Evaluation)
    e.reglement, e.date_reference, e.resultats = reglement, date_reference, resultats
    e.parametres_appliques, e.faits_utilises, e.baremes_appliques = (
        parametres_appliques, faits_utilises, baremes_appliques,
    )  # fmt: skip
    return e
