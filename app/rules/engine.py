"""The pure evaluation of a règlement: facts + règlement + reference date in, explained results out.

No I/O, no clock. Every condition of every chosen aid is evaluated and explained (not only the
first failure); the combinations use three-valued logic (true / false / unknown), so an aid whose
known facts already decide it is decided, and only an undecided one is `a_verifier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from app.rules import explain
from app.rules.comparison import Resolveur, evaluer_feuille
from app.rules.facts import Faits
from app.rules.model import Reglement
from app.rules.montants import Calculateur, Calcule
from app.rules.motif import justifier, motif_a_verifier, motif_eligible, motif_non_eligible
from app.rules.plan import Feuille, PlanDispositif, PlanReglement, Preparation, plan
from app.rules.results import (
    BaremeApplique,
    ConditionEvaluee,
    Evaluation,
    ParametreApplique,
    ResultatDispositif,
    Statut,
    TrancheAppliquee,
)


class DispositifInconnu(ValueError):
    """An aid id that the règlement does not declare."""


class ParametreSansValeur(ValueError):
    """The reference date is before the first value of a parameter or barème the aids use."""


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


def verifier_applicable(
    reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None = None
) -> None:
    """Raise `DispositifInconnu` or `ParametreSansValeur` now, before any data is fetched."""
    _preparer(plan(reglement), reglement, date_reference, dispositifs)


def _preparer(
    compile: PlanReglement, reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None
) -> Preparation:
    """The dated data the chosen aids need, prepared once per (date, aids) and kept."""
    cle = (date_reference, None if dispositifs is None else tuple(dispositifs))
    preparation = compile.preparations.get(cle)
    if preparation is None:
        preparation = _preparation(compile, reglement, date_reference, dispositifs)
        compile.garder(cle, preparation)
    return preparation


def _preparation(
    compile: PlanReglement, reglement: Reglement, date_reference: date, dispositifs: Sequence[str] | None
) -> Preparation:
    if dispositifs is None:
        choisis = reglement.dispositifs
    else:
        inconnus = [d for d in dispositifs if reglement.dispositif(d) is None]
        if inconnus:
            raise DispositifInconnu(f"dispositif inconnu du règlement « {reglement.id} » : « {inconnus[0]} »")
        voulus = set(dispositifs)
        choisis = tuple(d for d in reglement.dispositifs if d.id in voulus)
    vigueur = reglement.en_vigueur(date_reference)
    plans = tuple(compile.dispositifs[d.id] for d in choisis)
    parametres = sorted(set().union(*(p.parametres for p in plans)))
    baremes = sorted(set().union(*(p.baremes for p in plans)))
    appliques = []
    for nom in parametres:
        valeur = vigueur.parametres[nom]
        if valeur is None:
            premiere = reglement.parametres[nom].valeurs[0].depuis
            raise ParametreSansValeur(
                f"le paramètre « {nom} » n'a pas de valeur au {explain.jour(date_reference)} "
                f"(première valeur en vigueur le {explain.jour(premiere)})"
            )
        appliques.append(
            ParametreApplique(nom, valeur.valeur, valeur.depuis, explain.deliberation(valeur.deliberation))
        )
    baremes_appliques = []
    for nom in baremes:
        version = vigueur.baremes[nom]
        if version is None:
            premiere = reglement.baremes[nom].versions[0].depuis
            raise ParametreSansValeur(
                f"le barème « {nom} » n'a pas de version au {explain.jour(date_reference)} "
                f"(première version en vigueur le {explain.jour(premiere)})"
            )
        tranches = tuple(
            TrancheAppliquee(t.de, t.moins_de, t.montant, t.libelle, t.jusqu_a, t.plus_de, t.montants)
            for t in version.tranches
        )
        deliberation = explain.deliberation(version.deliberation)
        baremes_appliques.append(BaremeApplique(nom, version.depuis, deliberation, tranches))
    feuilles: dict[Feuille, int] = {}  # distinct leaves of the chosen aids, by first use
    positions = tuple(tuple(feuilles.setdefault(f, len(feuilles)) for f in p.feuilles) for p in plans)
    seuils = tuple(f.seuil(date_reference, vigueur) for f in feuilles)
    bases = sorted(set().union(*(p.faits_de_base for p in plans)))
    return Preparation(
        plans,
        vigueur,
        tuple(feuilles),
        seuils,
        positions,
        tuple(appliques),
        tuple(baremes_appliques),
        tuple(bases),
    )


def evaluer(
    reglement: Reglement, faits: Faits, date_reference: date, dispositifs: Sequence[str] | None = None
) -> Evaluation:
    """Evaluate the chosen aids (all by default) of `reglement` on `faits` at `date_reference`."""
    compile = plan(reglement)
    preparation = _preparer(compile, reglement, date_reference, dispositifs)
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
