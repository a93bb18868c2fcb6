"""Loading règlements: each kind of error is refused with the file, the line and a precise message."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.rules.loader import ReglementInvalide, charger_reglement, lire_reglement

ENTETE = """\
reglement:
  id: test
  version: "1"
  libelle: Règlement de test
  organisme: {nom: CCAS de Test}
deliberations:
  D1: {numero: "2025-01", date: 2025-01-15}
parametres:
  plafond:
    libelle: le plafond
    unite: "€"
    valeurs:
      - {depuis: 2025-01-01, valeur: 600, deliberation: D1}
"""

DISPOSITIF_VALIDE = """\
dispositifs:
  - id: aide
    libelle: Aide
    conditions:
      - fait: quotient_familial_caf
        operateur: "<="
        parametre: plafond
"""


def _erreur(texte: str) -> ReglementInvalide:
    with pytest.raises(ReglementInvalide) as info:
        lire_reglement(texte, "essai.yaml")
    return info.value


def _ligne_de(texte: str, morceau: str) -> int:
    return next(i for i, ligne in enumerate(texte.splitlines(), start=1) if morceau in ligne)


def test_a_valid_reglement_loads() -> None:
    reglement = lire_reglement(ENTETE + DISPOSITIF_VALIDE, "essai.yaml")
    assert [d.id for d in reglement.dispositifs] == ["aide"]
    assert reglement.empreinte.startswith("sha256:")
    assert len(reglement.empreinte) == 7 + 64


@pytest.mark.parametrize(
    ("condition", "repere", "message"),
    [
        (
            "{fait: quotient_familial_cafe, operateur: '<=', valeur: 600}",
            "quotient_familial_cafe",
            "fait inconnu « quotient_familial_cafe » (vouliez-vous dire « quotient_familial_caf » ?)",
        ),
        (
            "{fait: beneficiaire_rsa, operateur: '<=', valeur: 1}",
            "beneficiaire_rsa",
            "incompatibilité de type : « <= » ne s'applique pas au booléen « beneficiaire_rsa »",
        ),
        (
            "{fait: quotient_familial_caf, operateur: '<=', valeur: abc}",
            "abc",
            "incompatibilité de type : le fait « quotient_familial_caf » est un nombre, "
            "le seuil ne l'est pas",
        ),
        (
            "{fait: commune_residence, operateur: '<', valeur: '08480'}",
            "commune_residence",
            "incompatibilité de type : « < » ne s'applique pas au texte « commune_residence »",
        ),
        (
            "{fait: enfants, operateur: '>=', valeur: 1}",
            "enfants",
            "incompatibilité de type : le fait « enfants » ne se compare pas ; "
            "utilisez nombre_enfants, taille_foyer…",
        ),
        (
            "{fait: quotient_familial_caf, operateur: '<=', parametre: plafon}",
            "parametre: plafon}",
            "paramètre inconnu « plafon »",
        ),
        (
            "{fait: quotient_familial_caf, operateur: '=<', valeur: 600}",
            "=<",
            "opérateur inconnu « =< »",
        ),
        (
            "{fait: situation_familiale, operateur: '==', valeur: X}",
            "situation_familiale",
            "valeur « X » non admise pour « situation_familiale »",
        ),
        (
            "{fait: age_demandeur, age_max: 17, operateur: '>=', valeur: 1}",
            "age_demandeur",
            "le fait « age_demandeur » n'accepte pas de tranche d'âge",
        ),
    ],
)
def test_condition_errors_name_the_line(condition: str, repere: str, message: str) -> None:
    texte = ENTETE + f"dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n      - {condition}\n"
    erreur = _erreur(texte)
    assert erreur.fichier == "essai.yaml"
    assert erreur.ligne == _ligne_de(texte, repere)
    assert message in erreur.message
    assert str(erreur).startswith(f"essai.yaml:{erreur.ligne}: ")


def _bareme(tranches: str) -> str:
    return (
        ENTETE
        + "baremes:\n  grille:\n    libelle: grille\n    fait: quotient_familial_caf\n    versions:\n"
        + "      - depuis: 2025-01-01\n        tranches:\n"
        + tranches
        + "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n"
        + "      - {fait: quotient_familial_caf, operateur: '>=', valeur: 0}\n    montant: {bareme: grille}\n"
    )


@pytest.mark.parametrize(
    ("tranches", "repere", "message"),
    [
        (
            "          - {moins_de: 400, montant: 1}\n          - {de: 350, montant: 2}\n",
            "de: 350",
            "chevauchement de tranches : celle-ci commence avant 400",
        ),
        (
            "          - {moins_de: 400, montant: 1}\n          - {de: 450, montant: 2}\n",
            "de: 450",
            "trou entre tranches : aucune tranche ne couvre de 400 à moins de 450",
        ),
        (
            "          - {montant: 1}\n          - {de: 450, montant: 2}\n",
            "de: 450",
            "chevauchement de tranches : la tranche précédente n'a pas de borne « moins_de »",
        ),
        (
            "          - {de: 500, moins_de: 400, montant: 1}\n",
            "de: 500",
            "tranche vide",
        ),
    ],
)
def test_tranches_with_gap_or_overlap_are_refused(tranches: str, repere: str, message: str) -> None:
    texte = _bareme(tranches)
    erreur = _erreur(texte)
    assert erreur.ligne == _ligne_de(texte, repere)
    assert message in erreur.message


def test_duplicate_dispositif_ids_are_refused() -> None:
    texte = ENTETE + DISPOSITIF_VALIDE + DISPOSITIF_VALIDE.removeprefix("dispositifs:\n")
    erreur = _erreur(texte)
    assert erreur.message == "identifiant de dispositif « aide » en double"
    assert erreur.ligne == len((ENTETE + DISPOSITIF_VALIDE).splitlines()) + 1


def test_duplicate_parameter_names_are_refused() -> None:
    texte = ENTETE + "  plafond:\n    libelle: x\n    valeurs: []\n" + DISPOSITIF_VALIDE
    erreur = _erreur(texte)
    assert "identifiant « plafond » en double" in erreur.message
    assert erreur.ligne == len(ENTETE.splitlines()) + 1


@pytest.mark.parametrize("mauvaise", ["2025-02-30", "2025-13-01", "hier"])
def test_bad_dates_are_refused(mauvaise: str) -> None:
    texte = ENTETE.replace("depuis: 2025-01-01", f"depuis: {mauvaise}") + DISPOSITIF_VALIDE
    erreur = _erreur(texte)
    assert erreur.message == "« depuis » doit être une date AAAA-MM-JJ valide"
    assert erreur.ligne == _ligne_de(texte, mauvaise)


def test_dates_of_a_parameter_must_increase() -> None:
    texte = ENTETE.replace(
        "      - {depuis: 2025-01-01, valeur: 600, deliberation: D1}\n",
        "      - {depuis: 2025-01-01, valeur: 600}\n      - {depuis: 2024-01-01, valeur: 650}\n",
    )
    erreur = _erreur(texte + DISPOSITIF_VALIDE)
    assert "croissantes et distinctes" in erreur.message
    assert erreur.ligne == _ligne_de(texte, "2024-01-01")


def test_a_test_case_before_the_first_value_of_a_parameter_is_refused() -> None:
    texte = (
        ENTETE
        + DISPOSITIF_VALIDE
        + "cas_de_test:\n  - nom: trop tôt\n    date_reference: 2024-12-31\n"
        + "    faits: {quotient_familial_caf: 500}\n    attendu:\n      aide: eligible\n"
    )
    erreur = _erreur(texte)
    assert erreur.message == (
        "cas « trop tôt » : le paramètre « plafond » n'a pas de valeur au 2024-12-31 "
        "(première valeur le 2025-01-01)"
    )
    assert erreur.ligne == _ligne_de(texte, "      aide: eligible")


@pytest.mark.parametrize(
    ("remplacement", "message"),
    [
        (("deliberation: D1", "deliberation: D9"), "délibération inconnue « D9 »"),
        (("libelle: le plafond", "libele: le plafond"), "clé inconnue « libele »"),
        (('  version: "1"\n', ""), "clé obligatoire absente « version »"),
    ],
)
def test_structure_errors(remplacement: tuple[str, str], message: str) -> None:
    erreur = _erreur((ENTETE + DISPOSITIF_VALIDE).replace(*remplacement))
    assert message in erreur.message
    assert erreur.ligne is not None


def test_duplicate_yaml_keys_are_refused() -> None:
    texte = ENTETE + DISPOSITIF_VALIDE.replace(
        "    libelle: Aide\n", "    libelle: Aide\n    libelle: Autre\n"
    )
    erreur = _erreur(texte)
    assert erreur.message == "clé « libelle » en double dans un dispositif"
    assert erreur.ligne == _ligne_de(texte, "libelle: Autre")


def test_yaml_syntax_errors_carry_a_line() -> None:
    erreur = _erreur(ENTETE + "dispositifs: [\n  - id: aide\n")
    assert erreur.message.startswith("YAML illisible")
    assert erreur.ligne is not None


def test_test_case_facts_are_validated() -> None:
    texte = (
        ENTETE
        + DISPOSITIF_VALIDE
        + "cas_de_test:\n  - nom: mauvais fait\n    date_reference: 2025-06-01\n"
        + "    faits: {quotient_familial_caf: beaucoup}\n    attendu: {aide: eligible}\n"
    )
    erreur = _erreur(texte)
    assert erreur.message == "cas « mauvais fait » : fait « quotient_familial_caf » : doit être un nombre"
    assert erreur.ligne == _ligne_de(texte, "beaucoup")


def test_fingerprint_ignores_layout_and_comments_but_not_content() -> None:
    base = lire_reglement(ENTETE + DISPOSITIF_VALIDE, "a.yaml")
    relooke = ENTETE.replace("valeur: 600", "valeur:   600.0") + "# un commentaire\n" + DISPOSITIF_VALIDE
    assert lire_reglement(relooke, "b.yaml").empreinte == base.empreinte
    autre = lire_reglement((ENTETE + DISPOSITIF_VALIDE).replace("valeur: 600", "valeur: 601"), "c.yaml")
    assert autre.empreinte != base.empreinte


def test_test_cases_may_sit_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ENTETE + DISPOSITIF_VALIDE, encoding="utf-8")
    (tmp_path / "r.cas.yaml").write_text(
        "cas_de_test:\n  - nom: a cote\n    date_reference: 2025-06-01\n"
        "    faits: {quotient_familial_caf: 500}\n    attendu: {aide: eligible}\n",
        encoding="utf-8",
    )
    reglement = charger_reglement(tmp_path / "r.yaml")
    assert [c.nom for c in reglement.cas_de_test] == ["a cote"]


def test_an_error_beside_names_the_cases_file(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ENTETE + DISPOSITIF_VALIDE, encoding="utf-8")
    (tmp_path / "r.cas.yaml").write_text(
        "cas_de_test:\n  - nom: a cote\n    date_reference: 2025-06-01\n"
        "    faits: {}\n    attendu: {autre: eligible}\n",
        encoding="utf-8",
    )
    with pytest.raises(ReglementInvalide) as info:
        charger_reglement(tmp_path / "r.yaml")
    assert info.value.fichier.endswith("r.cas.yaml")
    assert info.value.ligne == 5
    assert "dispositif inconnu « autre »" in info.value.message


def test_unreadable_file() -> None:
    with pytest.raises(ReglementInvalide) as info:
        charger_reglement(Path("/nonexistent/reglement.yaml"))
    assert info.value.message == "fichier illisible"


@pytest.mark.parametrize(
    ("texte", "message"),
    [
        (
            "dispositifs: [1, 2\n",
            "YAML illisible : liste entre crochets non refermée (« ] » ou « , » attendu)",
        ),
        (
            "dispositifs: {a: 1\n",
            "YAML illisible : dictionnaire entre accolades non refermé (« } » ou « , » attendu)",
        ),
        ('dispositifs: "aide\n', "YAML illisible : guillemet non refermé"),
        (
            "dispositifs:\n\t- aide\n",
            "YAML illisible : caractère inattendu (tabulation ? indentez avec des espaces)",
        ),
    ],
)
def test_yaml_syntax_errors_are_explained_in_french(texte: str, message: str) -> None:
    erreur = _erreur(ENTETE + texte)
    assert erreur.message == message
    assert erreur.ligne is not None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "      - {fait: quotient_familial_caf, operateur: '<=', valeur: 650,5}\n",
            "« 650,5 » s'écrit avec un point décimal (650.5) ; une virgule sépare deux éléments",
        ),
        (
            "      - fait: quotient_familial_caf\n        operateur: '<='\n        valeur: 650,5\n",
            "la valeur : « 650,5 » s'écrit avec un point décimal (650.5) ; une virgule en ferait un texte",
        ),
    ],
)
def test_a_decimal_comma_is_refused_with_the_fix(condition: str, message: str) -> None:
    texte = ENTETE + "dispositifs:\n  - id: aide\n    libelle: Aide\n    conditions:\n" + condition
    erreur = _erreur(texte)
    assert erreur.message == message
    assert erreur.ligne == _ligne_de(texte, "650,5")
