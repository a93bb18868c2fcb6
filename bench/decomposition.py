"""Where a household's full evaluation spends its time, part by part, for bench_reglement.py.

The compiled plan's evaluation is one generated function (app/rules/generation.py) that calls,
by names bound in its namespace, four kinds of work: the presentations of the facts (`P0`, `P1`…:
reading a fact, computing a derived one, writing its value and source in French), the leaves'
explanations from a presentation (`E…`: outcome, margin, sentence), the leaves explained
directly from the facts (`X…`: yes/no and text facts, numbers by value) and the amounts with
their sentences (`MONTANT`). Everything else is the function itself: the verdicts and motifs
looked up by outcomes, and the result objects built.

Method (knock-out): each household's calls are first recorded, then the evaluation is timed again
with one kind after another replaced by a replay of its recorded answers, in the same order. The
time a kind leaves when replaced is its cost; what is left once all are replaced is the generated
function's own (plus one replay call for each replaced call, measured and given apart). Each
replayed evaluation is checked equal to the recorded one, so the replay is faithful.

This reads the generated function's namespace (`_Compile._evaluation.__globals__`): a diagnostic
of the bench, never used by the service. The plan's memos have seen the households when the
parts are timed (the recording pass), so the whole is a little quicker here than in the bench's
timed rounds; the parts are comparable with each other.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

#: The kinds of work, in the order they are replaced, and the names that call them.
PARTIES: dict[str, re.Pattern[str]] = {
    "presentations": re.compile(r"P\d+"),
    "explications": re.compile(r"E\d+"),
    "explications_directes": re.compile(r"X\d+"),
    "montants": re.compile(r"MONTANT"),
}
REPETITIONS = 15


def cle_de_rejeu(nom: str, foyer: int) -> tuple[str, int]:
    """Whose recorded answers a replayed call takes: its own household's (a test swaps it to
    check that an unfaithful replay is caught)."""
    return nom, foyer


def _meilleur_temps(evaluer: Callable[[Any], object], faits: Sequence[Any], curseur: list[int]) -> float:
    """Best mean over REPETITIONS passes, in µs per household (a pass is short: the minimum is the
    least disturbed by the machine's other work)."""
    meilleur = float("inf")
    horloge = time.perf_counter
    for _ in range(REPETITIONS):
        debut = horloge()
        for i, f in enumerate(faits):
            curseur[0] = i
            evaluer(f)
        meilleur = min(meilleur, (horloge() - debut) / len(faits) * 1e6)
    return meilleur


def decomposer(plan: Any, faits: Sequence[Any]) -> dict[str, Any]:
    """The cost of each kind of work in `plan.evaluer` on `faits` (plan already warmed up)."""
    plan.evaluer(faits[0])  # the generated function exists from the first evaluation
    espace: dict[str, Any] = plan._compile._evaluation.__globals__  # a diagnostic: see above
    noms = {partie: [n for n in espace if motif.fullmatch(n)] for partie, motif in PARTIES.items()}
    originaux = {n: espace[n] for liste in noms.values() for n in liste}
    curseur = [0]
    enregistres: dict[tuple[str, int], list[Any]] = {}

    def enregistreur(nom: str, fonction: Callable[..., Any]) -> Callable[..., Any]:
        def enregistrer(*arguments: Any) -> Any:
            reponse = fonction(*arguments)
            enregistres.setdefault((nom, curseur[0]), []).append(reponse)
            return reponse

        return enregistrer

    rangs: dict[tuple[str, int], int] = {}

    def rejoueur(nom: str) -> Callable[..., Any]:
        def rejouer(*arguments: Any) -> Any:
            cle = cle_de_rejeu(nom, curseur[0])
            rang = rangs.get(cle, 0)
            rangs[cle] = rang + 1
            return enregistres[cle][rang]

        return rejouer

    try:
        espace.update({n: enregistreur(n, f) for n, f in originaux.items()})
        attendues = []
        for i, f in enumerate(faits):
            curseur[0] = i
            attendues.append(plan.evaluer(f))
        espace.update(originaux)
        appels = {
            partie: sum(len(v) for (n, _), v in enregistres.items() if n in liste) / len(faits)
            for partie, liste in noms.items()
        }

        def evaluer(f: Any) -> object:
            rangs.clear()  # each household's replay from its first call (one household per pass step)
            return plan.evaluer(f)

        temps = {"complet": _meilleur_temps(evaluer, faits, curseur)}
        remplaces: list[str] = []
        for partie, liste in noms.items():
            espace.update({n: rejoueur(n) for n in liste})
            remplaces.append(partie)
            for i, f in enumerate(faits):  # the replay is faithful: the same evaluation
                curseur[0] = i
                if evaluer(f) != attendues[i]:
                    raise AssertionError(f"rejeu infidèle sans {partie}, foyer {i}")
            temps["sans_" + "_".join(remplaces)] = _meilleur_temps(evaluer, faits, curseur)
    finally:
        espace.update(originaux)
    rejeu = rejoueur(next(iter(enregistres))[0])
    curseur[0] = next(iter(enregistres))[1]
    debut = time.perf_counter()
    for _ in range(100_000):
        rangs.clear()
        rejeu()
    appel_rejoue = (time.perf_counter() - debut) / 100_000 * 1e6
    etapes = list(temps.values())  # complete, then without each kind in turn
    couts = {partie: round(etapes[k] - etapes[k + 1], 2) for k, partie in enumerate(noms)}
    propre = etapes[-1] - appel_rejoue * sum(appels.values())
    return {
        "complet_us": round(etapes[0], 2),
        "us_par_foyer": couts | {"fonction_generee_et_objets": round(propre, 2)},
        "etapes_us": {nom: round(t, 2) for nom, t in temps.items()},
        "appels_par_foyer": {partie: round(n, 2) for partie, n in appels.items()},
        "appel_rejoue_us": round(appel_rejoue, 3),
        "foyers": len(faits),
    }
