"""The shipped règlements: their test cases pass, their needs are minimal, their publication is JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.rules.explain import mention
from app.rules.loader import charger_reglement
from app.rules.needs import besoins
from app.rules.publication import reglement_vers_dict
from app.rules.testcases import executer_cas_de_test, fichiers_reglements, verifier_reglements

REGLEMENTS = Path(__file__).resolve().parents[2] / "reglements"
FICHIERS = fichiers_reglements(REGLEMENTS)


def test_the_demo_and_two_examples_are_shipped() -> None:
    noms = {p.relative_to(REGLEMENTS).as_posix() for p in FICHIERS}
    assert {"demo.yaml", "exemples/petite-commune.yaml", "exemples/syndicat-intercommunal.yaml"} <= noms


@pytest.mark.parametrize("chemin", FICHIERS, ids=lambda p: p.name)
def test_test_cases_of_each_reglement_pass(chemin: Path) -> None:
    reglement = charger_reglement(chemin)
    resultats = executer_cas_de_test(reglement)
    assert len(resultats) >= 5
    assert [(r.nom, r.differences) for r in resultats if not r.passed] == []


def test_a_failing_case_is_reported(tmp_path: Path) -> None:
    texte = (REGLEMENTS / "demo.yaml").read_text(encoding="utf-8")
    (tmp_path / "faux.yaml").write_text(
        texte.replace(
            'aide-energie: {statut: eligible, montant: 100, tranche: "2"}',
            "aide-energie: {statut: eligible, montant: 99}",
        ),
        encoding="utf-8",
    )
    sortie = io.StringIO()
    assert verifier_reglements(tmp_path, sortie) == 1
    assert "aide-energie : montant attendu 99, obtenu 100.00" in sortie.getvalue()


def test_verifier_reglements_succeeds_on_the_shipped_folder() -> None:
    sortie = io.StringIO()
    assert verifier_reglements(REGLEMENTS, sortie) == 0
    assert sortie.getvalue().count("OK ") == len(FICHIERS)


def test_verifier_reglements_reports_an_invalid_file(tmp_path: Path) -> None:
    (tmp_path / "casse.yaml").write_text("reglement: [\n", encoding="utf-8")
    sortie = io.StringIO()
    assert verifier_reglements(tmp_path, sortie) == 1
    assert "ERREUR" in sortie.getvalue()
    assert "casse.yaml:" in sortie.getvalue()


def test_needs_list_only_what_the_aids_read() -> None:
    demo = charger_reglement(REGLEMENTS / "demo.yaml")
    tout = besoins(demo)
    assert tout.faits == {
        "quotient_familial_caf",
        "allocataires",
        "enfants",
        "commune_residence",
        "date_naissance_demandeur",
        "revenu_fiscal_de_reference",
        "situation_familiale",
        "nombre_personnes_a_charge",
    }
    assert tout.donnees == {"quotient_familial", "impot_sur_le_revenu"}
    assert tout.scopes == {
        "cnaf_quotient_familial",
        "cnaf_allocataires",
        "cnaf_enfants",
        "dgfip_rfr",
        "dgfip_sitfam",
        "dgfip_pac",
    }
    assert besoins(demo, ["aide-energie"]).faits == {"quotient_familial_caf"}
    syndicat = charger_reglement(REGLEMENTS / "exemples" / "syndicat-intercommunal.yaml")
    assert "impot_sur_le_revenu" in besoins(syndicat, ["supplement-energie"]).donnees
    assert besoins(syndicat, ["supplement-energie"]).scopes == {"dgfip_rfr", "dgfip_sitfam", "dgfip_pac"}


@pytest.mark.parametrize("chemin", FICHIERS, ids=lambda p: p.name)
def test_publication_is_json_with_every_dated_value(chemin: Path) -> None:
    reglement = charger_reglement(chemin)
    publie = json.loads(json.dumps(reglement_vers_dict(reglement), ensure_ascii=False))
    assert publie["empreinte"] == reglement.empreinte
    assert [d["id"] for d in publie["dispositifs"]] == [d.id for d in reglement.dispositifs]
    valeurs = sum(len(p["valeurs"]) for p in publie["parametres"])
    assert valeurs == sum(len(p.valeurs) for p in reglement.parametres.values())
    assert publie["besoins"]["scopes"] == sorted(besoins(reglement).scopes)


def test_mention_cites_the_law_and_the_reglement() -> None:
    demo = charger_reglement(REGLEMENTS / "demo.yaml")
    texte = mention(demo, "CCAS de Lyon")
    for attendu in (
        "L. 311-3-1",
        "R. 311-3-1-2",
        demo.libelle,
        demo.version,
        "« CCAS de Lyon »",
        "paramètres",
    ):
        assert attendu in texte
    # The organisme named is the one the decision is made for, never the file's header.
    assert "organisme « CCAS de Démoville" not in texte


def _cas_livres() -> list[tuple[Path, str]]:
    return [(chemin, cas.nom) for chemin in FICHIERS for cas in charger_reglement(chemin).cas_de_test]


@pytest.mark.parametrize(("chemin", "nom"), _cas_livres(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_each_shipped_case_passes_on_its_own(chemin: Path, nom: str) -> None:
    """One test per case of each shipped règlement, so that a failure names the case."""
    reglement = charger_reglement(chemin)
    (resultat,) = [r for r in executer_cas_de_test(reglement) if r.nom == nom]
    assert resultat.passed, resultat.differences
