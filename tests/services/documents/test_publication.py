"""The published rules' view: conditions in French, barèmes as step charts (accessible SVG)."""

from __future__ import annotations

from html.parser import HTMLParser

from app.config import PROJECT_ROOT
from app.rules.loader import charger_reglement
from app.rules.publication import reglement_vers_dict
from app.services.documents.publication import condition, graphique_en_escalier, publication

DEMO = charger_reglement(PROJECT_ROOT / "reglements" / "demo.yaml")


class Lignes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.marches: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "line" and a.get("stroke-width") == "2.5":
            self.marches.append(a)


def test_each_tranche_is_one_step_ordered_by_amount() -> None:
    tranches = [
        {"moins_de": "400", "montant": "150"},
        {"de": "400", "moins_de": "700", "montant": "100"},
        {"de": "700", "montant": "60"},
    ]
    svg = graphique_en_escalier(tranches, titre="Barème", legende_x="QF (€)", unite_x="€", unite_y="€")
    assert svg is not None
    lignes = Lignes()
    lignes.feed(svg)
    hauteurs = [float(str(m["y1"])) for m in lignes.marches]
    assert len(hauteurs) == 3
    assert hauteurs == sorted(hauteurs)  # 150 € highest on the page (smallest y), 60 € lowest
    assert 'role="img"' in svg
    assert "<title>Barème</title>" in svg
    assert "Moins de 400 € : 150 €" in svg  # the description reads the whole barème


def test_a_bareme_without_single_amounts_has_no_chart() -> None:
    assert (
        graphique_en_escalier(
            [{"de": "0", "montants": ["1", "2"]}], titre="t", legende_x="x", unite_x=None, unite_y=None
        )
        is None
    )


def test_nested_conditions_are_written_in_french() -> None:
    regle = reglement_vers_dict(DEMO)
    parametres = {p["nom"]: p for p in regle["parametres"]}
    colis = next(d for d in regle["dispositifs"] if d["id"] == "colis-fin-annee")
    groupe = condition(colis["conditions"][1], parametres)
    assert groupe["texte"] == "au moins une des conditions suivantes :"
    assert [e["texte"] for e in groupe["enfants"]] == [
        "L'âge du demandeur est supérieur ou égal à l'âge minimal pour le colis de fin d'année.",
        "Le nombre d'enfants à charge âgés de 17 ans au plus est supérieur ou égal à 3.",
    ]


def test_the_publication_lists_every_aid_parameter_and_bareme() -> None:
    vue = publication(reglement_vers_dict(DEMO), DEMO.catalogue, organisme="CCAS", site=None)
    assert [d["id"] for d in vue["dispositifs"]] == [d.id for d in DEMO.dispositifs]
    assert {p["nom"] for p in vue["parametres"]} == set(DEMO.parametres)
    assert [len(b["versions"]) for b in vue["baremes"]] == [1, 1]
    assert all(v["svg"] for b in vue["baremes"] for v in b["versions"])
