"""The journaled facts typed by `LecteurFaits` (issue 17): what it remembers changes nothing to
what a decision reads, whatever the catalogue, the unavailable facts, or its memory's bound."""

from __future__ import annotations

from typing import Any

import pytest

from app.rules.derived import Catalogue
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
