"""What replaying a period costs, aid by aid and in total: counts only, whatever the period's size
(the changed decisions themselves go to the CSV stream, never into memory)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.services.impact.rejeu import Verdict

STATUTS = ("eligible", "non_eligible", "a_verifier")
#: Integrity alerts listed in the answer; all are counted, and all are in the CSV.
ALERTES_LISTEES = 1000


@dataclass(frozen=True, slots=True)
class Changement:
    """One aid of one decision: journaled → under the proposal (`type` says which kind of line)."""

    decision_id: uuid.UUID
    dossier_ref: str | None
    dispositif: str
    type: str  # "changement", "non_evaluable", "alerte_integrite"
    avant: Verdict
    apres: Verdict | None
    raison: str | None = None


@dataclass(slots=True)
class BilanDispositif:
    dispositif: str
    libelle: str
    rejoues: int = 0
    changements: int = 0
    statuts_avant: Counter[str] = field(default_factory=Counter)
    statuts_apres: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    montant_avant: Decimal = Decimal(0)
    montant_apres: Decimal = Decimal(0)
    tranches_avant: Counter[str] = field(default_factory=Counter)
    tranches_apres: Counter[str] = field(default_factory=Counter)
    non_evaluables: Counter[str] = field(default_factory=Counter)

    def compter(self, avant: Verdict, apres: Verdict, fois: int = 1) -> None:
        """`fois` results journaled `avant` and giving `apres` under the proposal."""
        self.rejoues += fois
        self.statuts_avant[avant.statut] += fois
        self.statuts_apres[apres.statut] += fois
        if avant.statut != apres.statut:
            self.transitions[(avant.statut, apres.statut)] += fois
        if not avant.meme_issue(apres):
            self.changements += fois
        if avant.montant is not None and avant.statut == "eligible":
            self.montant_avant += avant.montant * fois
        if apres.montant is not None and apres.statut == "eligible":
            self.montant_apres += apres.montant * fois
        if avant.tranche is not None:
            self.tranches_avant[avant.tranche] += fois
        if apres.tranche is not None:
            self.tranches_apres[apres.tranche] += fois

    def ajouter(self, autre: BilanDispositif) -> None:
        self.rejoues += autre.rejoues
        self.changements += autre.changements
        self.montant_avant += autre.montant_avant
        self.montant_apres += autre.montant_apres
        for mien, sien in (
            (self.statuts_avant, autre.statuts_avant),
            (self.statuts_apres, autre.statuts_apres),
            (self.tranches_avant, autre.tranches_avant),
            (self.tranches_apres, autre.tranches_apres),
            (self.non_evaluables, autre.non_evaluables),
        ):
            mien.update(sien)
        self.transitions.update(autre.transitions)


@dataclass(slots=True)
class Bilan:
    du: date
    au: date
    proposition: dict[str, str]
    date_effet: date | None
    decisions: int = 0
    decisions_illisibles: int = 0
    #: Decided under a règlement neither archived nor current: replayed under the proposal only.
    decisions_non_verifiables: int = 0
    dispositifs: dict[str, BilanDispositif] = field(default_factory=dict)
    alertes: int = 0
    alertes_listees: list[Changement] = field(default_factory=list)

    def dispositif(self, identifiant: str, libelle: str) -> BilanDispositif:
        bilan = self.dispositifs.get(identifiant)
        if bilan is None:
            bilan = self.dispositifs[identifiant] = BilanDispositif(identifiant, libelle)
        return bilan

    def alerte(self, changement: Changement) -> None:
        self.alertes += 1
        if len(self.alertes_listees) < ALERTES_LISTEES:
            self.alertes_listees.append(changement)

    def total(self) -> BilanDispositif:
        total = BilanDispositif("total", "Tous les dispositifs")
        for bilan in self.dispositifs.values():
            total.ajouter(bilan)
        return total


def somme(valeur: Decimal) -> str:
    """An exact sum of euros as text, with at least two decimals (« 1250.00 », « 0.125 »)."""
    centimes = valeur.quantize(Decimal("0.01"))
    return f"{centimes if centimes == valeur else valeur.normalize():f}"


def _verdict(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "statut": verdict.statut,
        "montant": None if verdict.montant is None else f"{verdict.montant:f}",
        "tranche": verdict.tranche,
        "decisives": None if verdict.decisives is None else list(verdict.decisives),
    }


def _dispositif_json(bilan: BilanDispositif) -> dict[str, Any]:
    return {
        "dispositif": bilan.dispositif,
        "libelle": bilan.libelle,
        "rejoues": bilan.rejoues,
        "changements": bilan.changements,
        "statuts_avant": {s: bilan.statuts_avant[s] for s in STATUTS},
        "statuts_apres": {s: bilan.statuts_apres[s] for s in STATUTS},
        "transitions": [
            {"de": de, "vers": vers, "nombre": n} for (de, vers), n in sorted(bilan.transitions.items())
        ],
        "montant_avant": somme(bilan.montant_avant),
        "montant_apres": somme(bilan.montant_apres),
        "difference": somme(bilan.montant_apres - bilan.montant_avant),
        "tranches_avant": dict(sorted(bilan.tranches_avant.items())),
        "tranches_apres": dict(sorted(bilan.tranches_apres.items())),
        "non_evaluables": sum(bilan.non_evaluables.values()),
        "raisons_non_evaluables": [
            {"raison": r, "nombre": n} for r, n in sorted(bilan.non_evaluables.items())
        ],
    }


def bilan_json(bilan: Bilan) -> dict[str, Any]:
    """The summary as JSON-ready data: the `ImpactReglement` schema's shape."""
    return {
        "du": bilan.du.isoformat(),
        "au": bilan.au.isoformat(),
        "reglement_propose": bilan.proposition,
        "date_effet": None if bilan.date_effet is None else bilan.date_effet.isoformat(),
        "decisions": bilan.decisions,
        "decisions_illisibles": bilan.decisions_illisibles,
        "decisions_non_verifiables": bilan.decisions_non_verifiables,
        "total": _dispositif_json(bilan.total()),
        "dispositifs": [_dispositif_json(b) for _, b in sorted(bilan.dispositifs.items())],
        "alertes_integrite": bilan.alertes,
        "alertes": [
            {
                "decision_id": str(a.decision_id),
                "dossier_ref": a.dossier_ref,
                "dispositif": a.dispositif,
                "journalise": _verdict(a.avant),
                "rejoue": _verdict(a.apres),
                "raison": a.raison,
            }
            for a in bilan.alertes_listees
        ],
    }
