"""Running the test cases a règlement declares, and checking a whole folder of règlements.

`verifier_reglements` is what `make check-reglements` and the CLI call: it loads every règlement,
runs its cases and returns a process exit code.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from app.rules.engine import ParametreSansValeur, evaluer
from app.rules.loader import ReglementInvalide, charger_reglement
from app.rules.model import Reglement


@dataclass(frozen=True, slots=True)
class ResultatCasDeTest:
    nom: str
    passed: bool
    differences: list[str] = field(default_factory=list)


def executer_cas_de_test(reglement: Reglement) -> list[ResultatCasDeTest]:
    """Evaluate each declared case and compare status, amount and bracket with what it expects."""
    resultats: list[ResultatCasDeTest] = []
    for cas in reglement.cas_de_test:
        try:
            evaluation = evaluer(reglement, cas.faits, cas.date_reference, list(cas.attendus))
        except ParametreSansValeur as exc:
            resultats.append(ResultatCasDeTest(cas.nom, False, [str(exc)]))
            continue
        obtenus = {r.dispositif: r for r in evaluation.resultats}
        differences: list[str] = []
        for ident, attendu in cas.attendus.items():
            obtenu = obtenus[ident]
            if obtenu.statut is not attendu.statut:
                statuts = f"statut attendu {attendu.statut.value}, obtenu {obtenu.statut.value}"
                differences.append(f"{ident} : {statuts} ({obtenu.motif})")
            if attendu.verifier_montant and obtenu.montant != attendu.montant:
                differences.append(f"{ident} : montant attendu {attendu.montant}, obtenu {obtenu.montant}")
            if attendu.verifier_tranche and obtenu.tranche != attendu.tranche:
                differences.append(f"{ident} : tranche attendue {attendu.tranche}, obtenue {obtenu.tranche}")
        resultats.append(ResultatCasDeTest(cas.nom, not differences, differences))
    return resultats


def fichiers_reglements(dossier: Path) -> list[Path]:
    """Every règlement file under `dossier` (test-case files `*.cas.yaml` excluded)."""
    return sorted(p for p in dossier.rglob("*.yaml") if not p.name.endswith(".cas.yaml"))


def verifier_reglements(dossier: Path, sortie: TextIO | None = None) -> int:
    """Load every règlement under `dossier` (or the one file `dossier` names) and run its cases;
    0 when all pass, 1 otherwise."""
    ecrire = sortie or sys.stdout
    code = 0
    fichiers = [dossier] if dossier.is_file() else fichiers_reglements(dossier)
    if not fichiers:
        print(f"{dossier}: aucun règlement trouvé", file=ecrire)
        return 1
    for chemin in fichiers:
        try:
            reglement = charger_reglement(chemin)
        except ReglementInvalide as exc:
            print(f"ERREUR {exc}", file=ecrire)
            code = 1
            continue
        resultats = executer_cas_de_test(reglement)
        echecs = [r for r in resultats if not r.passed]
        etat = "OK" if not echecs else "ÉCHEC"
        reussis = f"{len(resultats) - len(echecs)}/{len(resultats)} cas de test réussis"
        print(f"{etat} {chemin} ({reglement.id} {reglement.version}) : {reussis}", file=ecrire)
        for echec in echecs:
            code = 1
            for difference in echec.differences:
                print(f"  - {echec.nom} : {difference}", file=ecrire)
    return code
