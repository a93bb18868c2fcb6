"""The motif of a result, read from the evaluated condition tree: it names exactly the conditions that
decided the outcome, and never one that did not.

- eligible: every condition of the aid holds; an « au moins » group is named with how many of its
  conditions held, out of how many;
- non eligible: the conditions that failed (a failed « toutes » group by its own failed
  conditions, a failed « au moins » group as a group, with its count);
- à vérifier: the conditions left undecided, and only those (a condition undecided inside a group
  that is already decided does not count, and no proof is asked for it).

The sentences are built from the same outcomes as the status, so they cannot disagree with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.rules.logic import CombinaisonToutes


class Justification:
    """What the motif names: codes, French phrases, and the undecided leaves that decide."""

    __slots__ = ("codes", "feuilles", "groupes", "phrases")

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.phrases: list[str] = []
        self.feuilles: list[int] = []  # undecided leaves whose proof is to be asked
        self.groupes = False


def justifier(
    racine: CombinaisonToutes,
    valeurs: list[bool | None],
    verdict: bool | None,
    libelles: Sequence[str],
    codes: Sequence[str],
) -> Justification:
    """The conditions that decided `verdict` (the root's outcome on the leaf outcomes `valeurs`)."""
    justification = Justification()
    if not racine.noeuds and racine.tranche is not None:
        # « toutes » over leaves only (the usual aid): those in the verdict's state decide.
        decisives = [i for i, v in enumerate(valeurs) if v is verdict]
        justification.codes = [codes[i] for i in decisives]
        justification.phrases = [libelles[i] for i in decisives]
        if verdict is None:
            justification.feuilles = decisives
        return justification
    _Lecture(valeurs, libelles, codes, justification).decisifs(racine, verdict)
    return justification


def codes_decisifs(
    racine: CombinaisonToutes, valeurs: list[bool | None], verdict: bool | None, codes: Sequence[str]
) -> list[str]:
    """`justifier(…).codes` without the phrases: the codes of the conditions that decided."""
    if not racine.noeuds and racine.tranche is not None:
        return [codes[i] for i, v in enumerate(valeurs) if v is verdict]
    trouves: list[str] = []
    _codes(racine, verdict, valeurs, codes, trouves)
    return trouves


def _codes(
    noeud: int | CombinaisonToutes,
    etat: bool | None,
    valeurs: list[bool | None],
    codes: Sequence[str],
    trouves: list[str],
) -> None:
    if type(noeud) is int:
        trouves.append(codes[noeud])
    elif type(noeud) is CombinaisonToutes:
        for enfant, issue in zip(noeud.enfants, noeud.issues_ordonnees(valeurs), strict=True):
            if issue is etat:
                _codes(enfant, etat, valeurs, codes, trouves)
    else:
        trouves.append(noeud.code)  # type: ignore[union-attr]


class _Lecture:
    __slots__ = ("codes", "j", "libelles", "valeurs")

    def __init__(
        self, valeurs: list[bool | None], libelles: Sequence[str], codes: Sequence[str], j: Justification
    ) -> None:
        self.valeurs = valeurs
        self.libelles = libelles
        self.codes = codes
        self.j = j

    def decisifs(self, noeud: int | CombinaisonToutes, etat: bool | None) -> None:
        j = self.j
        if isinstance(noeud, int):
            j.codes.append(self.codes[noeud])
            j.phrases.append(self.libelles[noeud])
            if etat is None:
                j.feuilles.append(noeud)
            return
        issues = noeud.issues_ordonnees(self.valeurs)
        if type(noeud) is CombinaisonToutes:
            # « toutes » holds when each holds, fails by those that fail, is undecided by the undecided.
            for enfant, issue in zip(noeud.enfants, issues, strict=True):
                if issue is etat:
                    self.decisifs(enfant, etat)
            return
        j.groupes = True
        j.codes.append(noeud.code)
        j.phrases.append(phrase_groupe(noeud, issues, self.libelles))
        if etat is None:
            j.feuilles.extend(_indecises(noeud, self.valeurs))


def _indecises(noeud: int | CombinaisonToutes, valeurs: list[bool | None]) -> list[int]:
    """The undecided leaves under an undecided node (those that could still change it)."""
    if isinstance(noeud, int):
        return [noeud] if valeurs[noeud] is None else []
    issues = noeud.issues_ordonnees(valeurs)
    return [
        f for e, i in zip(noeud.enfants, issues, strict=True) if i is None for f in _indecises(e, valeurs)
    ]


def _membre(noeud: int | CombinaisonToutes, libelles: Sequence[str]) -> str:
    if isinstance(noeud, int):
        return libelles[noeud]
    membres = [_membre(e, libelles) for e in noeud.enfants]
    if type(noeud) is CombinaisonToutes:
        return "(" + " et ".join(membres) + ")"
    return f"{_tete(noeud)} ({', '.join(membres)})"


def _tete(noeud: CombinaisonToutes) -> str:
    n, m = noeud.seuil(), len(noeud.enfants)
    return f"au moins une des {m} conditions" if n == 1 else f"au moins {n} des {m} conditions"


def phrase_groupe(noeud: CombinaisonToutes, issues: list[bool | None], libelles: Sequence[str]) -> str:
    """« au moins 2 des 4 conditions » (A, B, C, D) : 1 remplie sur 4, 1 indéterminée"""
    membres = ", ".join(_membre(e, libelles) for e in noeud.enfants)
    remplies = issues.count(True)
    indeterminees = issues.count(None)
    compte = f"{remplies} {'remplies' if remplies > 1 else 'remplie'} sur {len(issues)}"
    if indeterminees:
        compte += f", {indeterminees} {'indéterminées' if indeterminees > 1 else 'indéterminée'}"
    return f"« {_tete(noeud)} » ({membres}) : {compte}"


def _uniques(phrases: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(phrases))


def motif_eligible(j: Justification, montant: str | None) -> str:
    if j.groupes:
        texte = f"Éligible : conditions remplies : {' ; '.join(_uniques(j.phrases))}."
    elif len(j.codes) == 1:
        texte = "Éligible : la condition est remplie."
    else:
        texte = f"Éligible : les {len(j.codes)} conditions sont remplies."
    return f"{texte} {montant}" if montant else texte


def motif_non_eligible(j: Justification) -> str:
    phrases = _uniques(j.phrases)
    mot = "condition non remplie" if len(j.codes) == 1 else "conditions non remplies"
    if j.groupes:
        return f"Non éligible : {mot} : {' ; '.join(phrases)}."
    return f"Non éligible : {mot} sur {', '.join(phrases)}."


def motif_a_verifier(phrases: Sequence[str], groupes: bool, pieces: Sequence[str]) -> str:
    separateur = " ; " if groupes else ", "
    texte = (
        "À vérifier : donnée manquante, trop ancienne ou insuffisante pour "
        f"{separateur.join(_uniques(phrases))}."
    )
    if pieces:
        texte += f" {'Pièce' if len(pieces) == 1 else 'Pièces'} à demander : {' ; '.join(pieces)}."
    return texte
