"""The règlement `reglements/exemples/ccas-intercommunal.yaml` as a GoRules ZEN decision graph (JDM),
at the reference date of the benchmark (parameters in force on 15 May 2026).

`python bench/zen_graph.py` writes it to bench/ccas-intercommunal.zen.json (2-space JSON, as the
GoRules editor saves it), whose line count is compared with the YAML règlement's.

Nodes: input → computed facts (expression) → energy grid, canteen table, rent and holiday barèmes
(decision tables, first hit) → the ten aids (expression) → output.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

CHEMIN = Path(__file__).resolve().parent / "ccas-intercommunal.zen.json"


def _enfants(bas: int, haut: int) -> str:
    # Over the ages worked out once (parsing each birth date once, as a ZEN author would).
    return f"count($.ages, # >= {bas} and # <= {haut})"


CALCULS = [
    ("ages", "map(enfants, d(jour).diff(d(#), 'year'))"),
    ("age_demandeur", "d(jour).diff(d(naissance), 'year')"),
    ("taille_foyer", "len(allocataires) + len(enfants)"),
    ("enfants_0_17", _enfants(0, 17)),
    ("enfants_3_17", _enfants(3, 17)),
    ("enfants_4_17", _enfants(4, 17)),
    ("enfants_6_10", _enfants(6, 10)),
    ("enfants_6_18", _enfants(6, 18)),
    ("enfants_11_14", _enfants(11, 14)),
    ("enfants_15_18", _enfants(15, 18)),
    ("personnes_fiscal", "(situation_familiale in ['M', 'O'] ? 2 : 1) + pac"),
    ("uc", "1 + ($.personnes_fiscal >= 2 ? 0.5 : 0) + 0.3 * max([$.personnes_fiscal - 2, 0])"),
    ("revenu_uc", "rfr / $.uc"),
    ("reste_a_vivre", "(ressources - charges) / $.taille_foyer / 30"),
]

COMMUNES = "['08105', '08480', '08409', '08263']"

AIDES = [
    (
        "aide-alimentaire",
        f"commune in {COMMUNES} and qf <= 650",
        "min([50 + 25 * enfants_0_17, 150])",
    ),
    (
        "secours-urgence",
        "reste_a_vivre <= 12 and ((rsa ? 1 : 0) + (asf ? 1 : 0) + (aah ? 1 : 0) + (c2s ? 1 : 0)) >= 2",
        "floor(min([100 + 50 * (taille_foyer - 1), 300]))",
    ),
    (
        "aide-energie",
        "logement in ['locataire', 'proprietaire'] and revenu_uc <= 11000",
        "energie.montant",
    ),
    ("tarif-cantine", "enfants_3_17 >= 1", "cantine.montant"),
    (
        "aide-rentree",
        "enfants_6_18 >= 1 and qf <= 900",
        "30 * enfants_6_10 + 45 * enfants_11_14 + 60 * enfants_15_18",
    ),
    (
        "colis-seniors",
        f"age_demandeur >= 70 and commune in {COMMUNES} and (aah or qf <= 900)",
        "40",
    ),
    (
        "aide-loyer",
        "logement == 'locataire' and not rsa and reste_a_vivre <= 15",
        "ceil(0.5 * loyer.montant)",
    ),
    (
        "transport-solidaire",
        f"commune in {COMMUNES} and ((age_demandeur >= 65 ? 1 : 0) + (aah ? 1 : 0) + (handicap ? 1 : 0)"
        " + (rsa ? 1 : 0)) >= 2",
        "60",
    ),
    ("vacances-enfants", "enfants_4_17 >= 1", "vacances.montant * enfants_4_17"),
    (
        "retour-emploi",
        "emploi in ['demandeur_emploi', 'formation'] and (rfr <= 15000 or prime)",
        "floor(max([200 - ressources / 10, 50]) / 5) * 5",
    ),
]


def _position() -> dict[str, int]:
    return {"x": 0, "y": 0}


def _table(
    ident: str, nom: str, entrees: list[tuple[str, str]], sorties: list[str], regles: list[list[str]]
) -> dict[str, Any]:
    inputs = [{"id": f"{ident}-i{k}", "name": champ, "field": champ} for k, (champ, _) in enumerate(entrees)]
    outputs = [{"id": f"{ident}-o{k}", "name": champ, "field": champ} for k, champ in enumerate(sorties)]
    rules = []
    for n, regle in enumerate(regles):
        rule = {"_id": f"{ident}-r{n}"}
        for k, valeur in enumerate(regle[: len(entrees)]):
            rule[f"{ident}-i{k}"] = valeur
        for k, valeur in enumerate(regle[len(entrees) :]):
            rule[f"{ident}-o{k}"] = valeur
        rules.append(rule)
    contenu = {
        "hitPolicy": "first",
        "passThrough": True,
        "inputField": None,
        "outputPath": None,
        "executionMode": "single",
        "inputs": inputs,
        "outputs": outputs,
        "rules": rules,
    }
    return {
        "id": ident,
        "type": "decisionTableNode",
        "name": nom,
        "position": _position(),
        "content": contenu,
    }


def _expressions(ident: str, nom: str, paires: list[tuple[str, str]], passer: bool) -> dict[str, Any]:
    contenu = {
        "passThrough": passer,
        "inputField": None,
        "outputPath": None,
        "executionMode": "single",
        "expressions": [
            {"id": f"{ident}-{k}", "key": cle, "value": valeur} for k, (cle, valeur) in enumerate(paires)
        ],
    }
    return {"id": ident, "type": "expressionNode", "name": nom, "position": _position(), "content": contenu}


def graphe() -> dict[str, Any]:
    colonnes = ["<= 1", "> 1 and <= 3", "> 3"]
    lignes = [("<= 5700", [150, 190, 230]), ("> 5700 and <= 7800", [100, 130, 160]),
              ("> 7800 and <= 11000", [60, 80, 100]), ("> 11000", [0, 0, 0])]  # fmt: skip
    energie = [
        [ligne, colonne, str(montants[k]), f"'E{n + 1}'"]
        for n, (ligne, montants) in enumerate(lignes)
        for k, colonne in enumerate(colonnes)
    ]
    noeuds = [
        {"id": "entree", "type": "inputNode", "name": "Demande", "position": _position()},
        _expressions("calculs", "Faits calculés", CALCULS, passer=True),
        _table(
            "energie",
            "Aide à l'énergie (revenu par UC × personnes du foyer fiscal)",
            [("revenu_uc", ""), ("personnes_fiscal", "")],
            ["energie.montant", "energie.tranche"],
            energie,
        ),
        _table(
            "cantine",
            "Tarif social de la cantine",
            [("rsa", ""), ("qf", "")],
            ["cantine.montant", "cantine.tranche"],
            [
                ["true", "", "0.50", "'solidaire'"],
                ["", "< 400", "1.00", "'A'"],
                ["", "<= 800", "1.80", "'B'"],
                ["", "", "3.20", "'C'"],
            ],
        ),
        _table(
            "loyer",
            "Aide au loyer",
            [("qf", "")],
            ["loyer.montant"],
            [["<= 500", "201"], ["> 500 and <= 800", "121"], ["> 800", "61"]],
        ),
        _table(
            "vacances",
            "Séjours de vacances",
            [("qf", "")],
            ["vacances.montant"],
            [["< 450", "180"], ["[450..900)", "120"], [">= 900", "40"]],
        ),
        _expressions(
            "aides",
            "Aides",
            [
                pair
                for ident, condition, montant in AIDES
                for cle in [ident.replace("-", "_")]
                for pair in (
                    (f"{cle}.eligible", condition),
                    (f"{cle}.montant", f"$.{cle}.eligible ? {montant} : null"),
                )
            ],
            passer=False,
        ),
        {"id": "sortie", "type": "outputNode", "name": "Décision", "position": _position()},
    ]
    ordre = ["entree", "calculs", "energie", "cantine", "loyer", "vacances", "aides", "sortie"]
    aretes = [
        {"id": f"a{k}", "sourceId": a, "targetId": b, "type": "edge"}
        for k, (a, b) in enumerate(pairwise(ordre))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": noeuds, "edges": aretes}


def ecrire() -> Path:
    CHEMIN.write_text(json.dumps(graphe(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return CHEMIN


if __name__ == "__main__":
    print(ecrire())
