"""The pure evaluation of a règlement: facts + règlement + reference date in, explained results out.

No I/O, no clock. Every condition of every chosen aid is evaluated and explained (not only the
first failure); the combinations use three-valued logic (true / false / unknown), so an aid whose
known facts already decide it is decided, and only an undecided one is `a_verifier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from app.rules.comparison import Resolveur, evaluer_feuille
from app.rules.compiled import (
    DispositifInconnu,
    ParametreSansValeur,
    compiler,
    preparer,
    verifier_applicable,
)
from app.rules.facts import Faits
from app.rules.model import Reglement
from app.rules.montants import Calculateur, Calcule
from app.rules.motif import justifier, motif_a_verifier, motif_eligible, motif_non_eligible
from app.rules.plan import PlanDispositif, PlanReglement, Preparation, plan
from app.rules.results import (
    ConditionEvaluee,
    Evaluation,
    ResultatDispositif,
    Statut,
)

__all__ = [
    "DispositifInconnu",
    "ParametreSansValeur",
    "evaluer",
    "evaluer_interprete",
    "verifier_applicable",
]

_SANS_MONTANT = Calcule()


class _Evaluation:
    """One evaluation in progress: its facts resolved, each distinct leaf and amount worked out once."""

    __slots__ = ("conditions", "montants", "reglement", "resolveur", "vigueur")

    def __init__(
        self, reglement: Reglement, compile: PlanReglement, preparation: Preparation, resolveur: Resolveur
    ) -> None:
        self.reglement = reglement
        self.resolveur = resolveur
        self.vigueur = preparation.vigueur
        # Every condition of every chosen aid is explained, so every distinct leaf is needed.
        self.conditions = [
            evaluer_feuille(f, s, resolveur.presenter(f))
            for f, s in zip(preparation.feuilles, preparation.seuils, strict=True)
        ]
        self.montants: list[Calcule | None] = [None] * compile.montants

    def dispositif(self, compile: PlanDispositif, positions: tuple[int, ...]) -> ResultatDispositif:
        calculees = self.conditions
        champs = [calculees[i] for i in positions]
        conditions = tuple(
            [ConditionEvaluee(*c, code) for c, code in zip(champs, compile.codes, strict=True)]
        )
        satisfaites = [c[4] for c in champs]
        if compile.plat:
            verdict = False if False in satisfaites else None if None in satisfaites else True
        else:
            verdict = compile.racine.evaluer(satisfaites)
        montant = _SANS_MONTANT
        pieces: tuple[str, ...] = ()
        regle = compile.dispositif.montant
        if verdict is True and compile.montant is not None and regle is not None:
            calcule = self.montants[compile.montant]
            if calcule is None:
                regles = compile.regles_montant
                calculateur = Calculateur(self.reglement, self.resolveur, self.vigueur, regles)
                calcule = self.montants[compile.montant] = calculateur.montant(regle)
            montant = calcule
        justification = justifier(compile.racine, satisfaites, verdict, compile.libelles, compile.codes)
        decisives = justification.codes
        if verdict is True and not montant.vide:
            statut = Statut.ELIGIBLE
            motif = motif_eligible(justification, montant.phrase)
        elif verdict is False:
            statut = Statut.NON_ELIGIBLE
            motif = motif_non_eligible(justification)
        else:
            statut = Statut.A_VERIFIER
            if verdict is True:  # every condition holds, the amount cannot be worked out
                demandees: list[str] = []
                phrases, groupes, decisives = montant.vide, False, ["montant"]
            else:
                demandees = [p for i in justification.feuilles if (p := conditions[i].piece_justificative)]
                phrases, groupes = justification.phrases, justification.groupes
            pieces = tuple(dict.fromkeys([*demandees, *montant.pieces]))
            motif = motif_a_verifier(phrases, groupes, pieces)
        dispositif = compile.dispositif
        eligible = statut is Statut.ELIGIBLE
        return ResultatDispositif(
            dispositif.id, dispositif.libelle, statut, motif, conditions,
            montant.montant if eligible else None, montant.tranche if eligible else None,
            pieces, dispositif.base_legale, compile.deliberation, tuple(decisives),
        )  # fmt: skip


def evaluer(
    reglement: Reglement, faits: Faits, date_reference: date, dispositifs: Sequence[str] | None = None
) -> Evaluation:
    """Evaluate the chosen aids (all by default) of `reglement` on `faits` at `date_reference`,
    through the plan compiled for that date (`compiled.compile_plan`)."""
    return compiler(reglement, date_reference, dispositifs).evaluer(reglement, faits)


def evaluer_interprete(
    reglement: Reglement, faits: Faits, date_reference: date, dispositifs: Sequence[str] | None = None
) -> Evaluation:
    """The same evaluation, walking the règlement's plan without a compiled plan: the reference the
    compiled plan is tested against (tests/rules/test_compiled.py)."""
    compile = plan(reglement)
    preparation = preparer(compile, reglement, date_reference, dispositifs)
    resolveur = Resolveur(faits, date_reference, compile.presentations, reglement.catalogue)
    evaluation = _Evaluation(reglement, compile, preparation, resolveur)
    resultats = tuple(
        [evaluation.dispositif(p, i) for p, i in zip(preparation.plans, preparation.positions, strict=True)]
    )
    connus = faits.connus
    return Evaluation(
        compile.reference, date_reference, resultats, preparation.parametres_appliques,
        tuple([b for b in preparation.faits_de_base if b in connus]), preparation.baremes_appliques,
    )  # fmt: skip
