"""Where a household's full evaluation spends its time, part by part, for bench_reglement.py.

The compiled plan's evaluation is one generated function (app/rules/generation.py) that calls,
by names bound in its namespace, four kinds of work: the presentations of the facts (`P0`, `P1`…:
reading a fact, computing a derived one, writing its value and source in French), the leaves'
explanations from a presentation (`E…`: outcome, margin, sentence), the leaves explained
directly from the facts (`X…`: yes/no and text facts, numbers by value) and the amounts with
their sentences (`MONTANT`). Everything else is the function itself: the verdicts and motifs
looked up by outcomes, and the result objects built.

Method (knock-out): each household's calls are first recorded, then the evaluation is timed again
with one kind after another replaced by a replay of its recorded answers, in the order they were
asked (the generated function is straight-line). A kind's cost is the time its replacement saved
plus what its replayed calls cost (`rejeux_seuls_us`: every replayed call made alone, ≈ 0.05 µs
each); what is left once all are replaced, minus the replays, is the generated function's own.
Each replayed evaluation is checked equal to the recorded one, so the replay is faithful.

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


def foyer_rejoue(foyer: int) -> int:
    """Whose recorded answers a household's replay takes: its own (a test swaps it to check that
    an unfaithful replay is caught)."""
    return foyer


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
    # Each household's calls, in the order made: (name, answer).
    ordre: list[list[tuple[str, Any]]] = [[] for _ in faits]

    def enregistreur(nom: str, fonction: Callable[..., Any]) -> Callable[..., Any]:
        def enregistrer(*arguments: Any) -> Any:
            reponse = fonction(*arguments)
            ordre[curseur[0]].append((nom, reponse))
            return reponse

        return enregistrer

    # The replay: every replaced name bound to one function handing the household's next recorded
    # answer (the calls come in the recorded order: the generated function is straight-line).
    suivante: Callable[[], Any] = iter(()).__next__

    def rejouer(*arguments: Any) -> Any:
        return suivante()

    def avec_reponses(reponses: list[list[Any]]) -> Callable[[Any], object]:
        def evaluer(f: Any) -> object:
            nonlocal suivante
            suivante = iter(reponses[foyer_rejoue(curseur[0])]).__next__
            return plan.evaluer(f)

        return evaluer

    try:
        espace.update({n: enregistreur(n, f) for n, f in originaux.items()})
        attendues = []
        for i, f in enumerate(faits):
            curseur[0] = i
            attendues.append(plan.evaluer(f))
        espace.update(originaux)
        temps = {"complet": _meilleur_temps(plan.evaluer, faits, curseur)}
        remplaces: list[str] = []
        reponses: list[list[Any]] = []
        for partie, liste in noms.items():
            remplaces += liste
            reponses = [[r for n, r in appels if n in remplaces] for appels in ordre]
            evaluer = avec_reponses(reponses)
            espace.update(dict.fromkeys(liste, rejouer))
            for i, f in enumerate(faits):  # the replay is faithful: the same evaluation
                curseur[0] = i
                if evaluer(f) != attendues[i]:
                    raise AssertionError(f"rejeu infidèle sans {partie}, foyer {i}")
            temps[f"sans_{partie}"] = _meilleur_temps(evaluer, faits, curseur)
    finally:
        espace.update(originaux)

    # What the replays themselves cost: each household's replayed calls made alone, in the same way.
    def rejeux_seuls(f: Any) -> object:
        nonlocal suivante
        appels = reponses[curseur[0]]
        suivante = iter(appels).__next__
        for _ in appels:
            rejouer()
        return None

    rejeux = _meilleur_temps(rejeux_seuls, faits, curseur)
    appels_par_partie = {
        partie: sum(1 for appels in ordre for n, _ in appels if n in liste) / len(faits)
        for partie, liste in noms.items()
    }
    par_appel = rejeux / sum(appels_par_partie.values())
    etapes = list(temps.values())  # complete, then without each kind in turn (cumulated)
    # A part's cost: the time its replacement saved, plus what its replayed calls cost.
    couts = {
        partie: round(etapes[k] - etapes[k + 1] + par_appel * appels_par_partie[partie], 2)
        for k, partie in enumerate(noms)
    }
    return {
        "complet_us": round(etapes[0], 2),
        "us_par_foyer": couts | {"fonction_generee_et_objets": round(etapes[-1] - rejeux, 2)},
        "etapes_us": {nom: round(t, 2) for nom, t in temps.items()},
        "appels_par_foyer": {partie: round(n, 2) for partie, n in appels_par_partie.items()},
        "rejeux_seuls_us": round(rejeux, 2),
        "foyers": len(faits),
    }
