"""The journaled facts typed by `LecteurFaits` (issue 17): what it remembers changes nothing to
what a decision reads, whatever the catalogue, the unavailable facts, or its memory's bound."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.rules.compiled import compile_plan
from app.rules.derived import Catalogue, Foyer
from app.rules.facts import FaitIndisponible, Faits, Source
from app.rules.serialization import faits_vers_dict
from app.services.impact import rejeu as module_rejeu
from app.services.impact.rejeu import LecteurFaits, faits_journalises
from app.services.journal.rejeu import CopieRejeu, copie_de_texte, texte_rejeu
from tests.services.impact.journal_exemple import REGLEMENT_DEMO, enregistrements, foyers


def _contenus(nombre: int) -> list[dict[str, Any]]:
    """Records of `nombre` households (each twice: the same facts read again), a third with
    unavailable facts (two texts of them), one with a fact the catalogue does not know."""
    contenus = []
    for rang, foyer in enumerate(foyers(nombre, graine=29)):
        _, decision = enregistrements(foyer, "org", f"D-{rang}")
        faits = faits_vers_dict(foyer.faits())
        if rang % 3 == 0:
            indisponibles = {
                "beneficiaire_rsa": FaitIndisponible("non-fourni", "Donnée non fournie."),
                "revenu_fiscal_de_reference": FaitIndisponible(
                    f"code-{rang % 2}", "Le foyer fiscal est introuvable.", Source("DGFIP", True)
                ),
                "fait_d_une_autre_version": FaitIndisponible("non-fourni", "Donnée non fournie."),
            }
            faits["indisponibles"] = faits_vers_dict(Faits(indisponibles=indisponibles))["indisponibles"]
        if rang == 1:
            faits["connus"]["fait_d_une_autre_version"] = {"valeur": 3, "source": None}
        contenus += [{**decision.contenu, "faits": faits}] * 2
    return contenus


def _copie(contenu: dict[str, Any]) -> CopieRejeu:
    texte = texte_rejeu(contenu)
    assert texte is not None
    return copie_de_texte(texte)


@pytest.mark.parametrize("memoire_max", [3, 50_000])
def test_facts_read_from_memory_are_those_of_the_record(
    monkeypatch: pytest.MonkeyPatch, memoire_max: int
) -> None:
    """Each decision reads exactly the facts of its whole record, for two catalogues alternately,
    whether its facts were remembered, just typed, or forgotten at the memory's bound; its
    unavailable facts are its own mapping (never shared with another decision)."""
    monkeypatch.setattr(module_rejeu, "_MEMOIRE_MAX", memoire_max)
    autre = Catalogue(REGLEMENT_DEMO.catalogue.faits, REGLEMENT_DEMO.catalogue.derives)
    lecteur = LecteurFaits()
    vus = []
    for contenu in _contenus(30):
        copie = _copie(contenu)
        for catalogue in (REGLEMENT_DEMO.catalogue, autre):
            faits = lecteur.faits(copie, catalogue)
            assert faits == faits_journalises(contenu, catalogue)
            vus.append(faits)
    assert any(f.indisponibles for f in vus)
    assert len({id(f.indisponibles) for f in vus if f.indisponibles}) == sum(
        bool(f.indisponibles) for f in vus
    )


def test_a_decisions_foyer_shared_by_two_plans_gives_each_its_own_verdicts() -> None:
    """Read with its reference date, a decision's facts are one `Foyer` that the original plan and
    a second plan of the same catalogue (the proposal's changed aids) both evaluate: each gives
    exactly the verdicts it gives on facts of its own, the derived values are worked out by the
    first and found by the second; a plan for another day makes its own `Foyer`."""
    lecteur = LecteurFaits()
    aides_changees = ("supplement-energie", "tarif-cantine")
    partages = 0
    for contenu in _contenus(40)[::2]:
        jour = date.fromisoformat(contenu["date_reference"])
        original = compile_plan(REGLEMENT_DEMO, jour)
        proposition = compile_plan(REGLEMENT_DEMO, jour, aides_changees)
        faits = lecteur.faits(_copie(contenu), REGLEMENT_DEMO.catalogue, jour)
        assert type(faits.connus) is Foyer
        assert faits == faits_journalises(contenu, REGLEMENT_DEMO.catalogue)
        assert original.verdicts(faits) == original.verdicts(
            faits_journalises(contenu, REGLEMENT_DEMO.catalogue)
        )
        valeurs = dict(faits.connus.valeurs)
        partages += bool(valeurs)
        assert proposition.verdicts(faits) == proposition.verdicts(
            faits_journalises(contenu, REGLEMENT_DEMO.catalogue)
        )
        assert faits.connus.valeurs.keys() >= valeurs.keys()
        lendemain = compile_plan(REGLEMENT_DEMO, jour + timedelta(days=1), aides_changees)
        assert lendemain.verdicts(faits) == lendemain.verdicts(
            Faits(connus=dict(faits.connus), indisponibles=faits.indisponibles)
        )
    assert partages  # the revenu par unité de consommation, at least, was worked out and shared
