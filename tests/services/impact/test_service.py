"""Replaying an organisme's past decisions under a proposal (issue 17), on SQLite and PostgreSQL:
the counts are checked against counts made directly from the households' facts."""

from __future__ import annotations

import gc
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine_from_url
from app.errors import InvalidInput
from app.rules.model import Reglement
from app.services.impact import (
    Bilan,
    Changement,
    Proposition,
    Rejeu,
    ServiceImpact,
    bilan_json,
    depuis_parametres,
    depuis_yaml,
)
from app.services.impact import service as service_impact
from app.services.impact.identite import Identites
from app.services.impact.service import Contexte, sans_ramasse_miettes
from app.services.organismes.archives import archiver
from tests.services.impact.journal_exemple import (
    FICHIER_DEMO,
    REGLEMENT_DEMO,
    TROUSSEAU,
    alterer_copie,
    copies_anciennes,
    falsifier,
    foyers,
    journaliser,
    organisme,
    sans_copie_de_rejeu,
)

DU, AU = date(2026, 1, 1), date(2026, 11, 30)
FOYERS = foyers(120, graine=17)


@pytest.fixture
async def engine(base_migree: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_from_url(base_migree)
    try:
        yield engine
    finally:
        await engine.dispose()


def _service(engine: AsyncEngine, **options: int) -> ServiceImpact:
    return ServiceImpact(
        engine,
        TROUSSEAU,
        decisions_max=options.get("max", 10_000),
        periode_jours_max=366,
        lot=options.get("lot", 25),
    )


def _id() -> str:
    return f"org-{uuid.uuid4().hex[:12]}"


async def test_identical_proposal_changes_nothing_and_reproduces_every_result(engine: AsyncEngine) -> None:
    ident = _id()
    await journaliser(engine, FOYERS, ident)
    service = _service(engine)
    proposition = depuis_yaml(FICHIER_DEMO.read_text(encoding="utf-8"), None)
    bilan = bilan_json(await service.mesurer(await service.preparer(organisme(ident), proposition, DU, AU)))
    assert bilan["decisions"] == len(FOYERS)
    assert bilan["alertes_integrite"] == 0
    assert bilan["decisions_non_verifiables"] == 0
    total = bilan["total"]
    assert total["rejoues"] == len(FOYERS) * len(REGLEMENT_DEMO.dispositifs)
    assert total["changements"] == 0
    assert total["transitions"] == []
    assert total["statuts_avant"] == total["statuts_apres"]
    assert total["tranches_avant"] == total["tranches_apres"]
    assert total["montant_avant"] == total["montant_apres"]
    assert total["difference"] == "0.00"
    assert Decimal(total["montant_avant"]) > 0


async def test_threshold_moved_up_turns_exactly_the_households_between_eligible(engine: AsyncEngine) -> None:
    ident = _id()
    await journaliser(engine, FOYERS, ident)
    service = _service(engine)
    proposition = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 650}, date(2027, 1, 1))
    rejeu = await service.preparer(organisme(ident), proposition, DU, AU)
    lignes = [ligne async for page in service.changements(rejeu) for ligne in page]
    bilan = bilan_json(await service.mesurer(rejeu))

    # Counted from the facts: the plafond was 600 € throughout 2026, the proposal says 650 €.
    entre = [f for f in FOYERS if 600 < f.qf <= 650]
    assert entre, "the sample must hold households between the two thresholds"
    alimentaire = next(d for d in bilan["dispositifs"] if d["dispositif"] == "aide-alimentaire")
    assert alimentaire["transitions"] == [{"de": "non_eligible", "vers": "eligible", "nombre": len(entre)}]
    assert alimentaire["statuts_apres"]["eligible"] == sum(1 for f in FOYERS if f.qf <= 650)
    attendu = sum(35 * (len(f.allocataires) + len(f.enfants)) for f in entre)
    assert Decimal(alimentaire["difference"]) == attendu
    # Nothing else moves, and the changed lines are exactly those households.
    assert bilan["total"]["changements"] == len(entre)
    assert all(d["changements"] == 0 for d in bilan["dispositifs"] if d["dispositif"] != "aide-alimentaire")
    assert sorted(c.dossier_ref or "" for c in lignes) == sorted(f"D-{FOYERS.index(f):05d}" for f in entre)
    assert {(c.type, c.avant.statut, c.apres.statut if c.apres else None) for c in lignes} == {
        ("changement", "non_eligible", "eligible")
    }


async def test_another_organismes_decisions_are_never_included(engine: AsyncEngine) -> None:
    mien, autre = _id(), _id()
    await journaliser(engine, FOYERS[:30], mien)
    await journaliser(engine, [f for f in FOYERS if 600 < f.qf <= 650], autre)
    service = _service(engine)
    proposition = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 650}, date(2027, 1, 1))
    bilan = bilan_json(await service.mesurer(await service.preparer(organisme(mien), proposition, DU, AU)))
    assert bilan["decisions"] == 30
    assert bilan["total"]["changements"] == sum(1 for f in FOYERS[:30] if 600 < f.qf <= 650)


PROPOSITION_RSA = FICHIER_DEMO.read_text(encoding="utf-8").replace(
    """        parametre: plafond_qf_alimentaire
    montant:""",
    """        parametre: plafond_qf_alimentaire
      - fait: beneficiaire_rsa
        operateur: "=="
        valeur: true
    montant:""",
)


async def test_a_fact_the_proposal_needs_that_was_not_collected_is_counted_apart(engine: AsyncEngine) -> None:
    assert FICHIER_DEMO.read_text(encoding="utf-8") != PROPOSITION_RSA
    ident = _id()
    await journaliser(engine, FOYERS[:20], ident)
    service = _service(engine)
    bilan = bilan_json(
        await service.mesurer(
            await service.preparer(organisme(ident), depuis_yaml(PROPOSITION_RSA, None), DU, AU)
        )
    )
    alimentaire = next(d for d in bilan["dispositifs"] if d["dispositif"] == "aide-alimentaire")
    assert alimentaire["non_evaluables"] == 20
    assert alimentaire["rejoues"] == 0
    assert alimentaire["raisons_non_evaluables"] == [
        {"raison": "donnée non collectée à l'époque : beneficiaire_rsa", "nombre": 20}
    ]
    # The other aids are replayed as usual.
    assert bilan["total"]["rejoues"] == 20 * (len(REGLEMENT_DEMO.dispositifs) - 1)


async def test_a_tampered_result_raises_an_integrity_alert(engine: AsyncEngine) -> None:
    ident = _id()
    ids = await journaliser(engine, FOYERS[:10], ident)
    await falsifier(engine, ids[3], "aide-alimentaire", 999)
    service = _service(engine)
    proposition = depuis_yaml(FICHIER_DEMO.read_text(encoding="utf-8"), None)
    bilan = bilan_json(await service.mesurer(await service.preparer(organisme(ident), proposition, DU, AU)))
    assert bilan["alertes_integrite"] == 1
    [alerte] = bilan["alertes"]
    assert alerte["decision_id"] == str(ids[3])
    assert alerte["dispositif"] == "aide-alimentaire"
    assert alerte["journalise"]["montant"] == "999"
    assert alerte["rejoue"]["montant"] != "999"


async def test_a_past_version_is_replayed_from_its_archive(engine: AsyncEngine) -> None:
    """Decisions of an older version: their own règlement comes from the archive, not the file."""
    ident = _id()
    ancien_texte = FICHIER_DEMO.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2025.9"')
    ancien = depuis_yaml(ancien_texte, None).reglement
    await journaliser(engine, FOYERS[:10], ident, ancien)
    service = _service(engine)
    proposition = depuis_yaml(FICHIER_DEMO.read_text(encoding="utf-8"), None)
    bilan = bilan_json(await service.mesurer(await service.preparer(organisme(ident), proposition, DU, AU)))
    assert bilan["decisions_non_verifiables"] == 10  # not archived yet: proposal only, and said so
    await archiver(engine, ident, ancien, ancien_texte, TROUSSEAU)
    bilan = bilan_json(await service.mesurer(await service.preparer(organisme(ident), proposition, DU, AU)))
    assert bilan["decisions_non_verifiables"] == 0
    assert bilan["alertes_integrite"] == 0


async def test_bounds_are_checked_before_reading(engine: AsyncEngine) -> None:
    ident = _id()
    await journaliser(engine, FOYERS[:5], ident)
    service = _service(engine, max=4)
    proposition = depuis_yaml(FICHIER_DEMO.read_text(encoding="utf-8"), None)
    with pytest.raises(InvalidInput, match="au plus 4"):
        await service.preparer(organisme(ident), proposition, DU, AU)
    with pytest.raises(InvalidInput):
        await service.preparer(organisme(ident), proposition, AU, DU)
    with pytest.raises(InvalidInput):
        await service.preparer(organisme(ident), proposition, date(2024, 1, 1), AU)
    with pytest.raises(InvalidInput):
        await service.preparer(organisme(ident), proposition, DU, AU, ["inconnu"])
    with pytest.raises(InvalidInput):
        depuis_parametres(REGLEMENT_DEMO, {"inconnu": 3}, DU)
    with pytest.raises(InvalidInput):
        depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": "beaucoup"}, DU)
    with pytest.raises(InvalidInput):
        depuis_yaml("reglement: [", None)


async def _tout(service: ServiceImpact, rejeu: Rejeu) -> tuple[dict[str, Any], list[Changement]]:
    bilan = Bilan(du=rejeu.du, au=rejeu.au, proposition={}, date_effet=None)
    lignes = [ligne async for page in service.changements(rejeu, bilan=bilan) for ligne in page]
    return bilan_json(bilan), lignes


async def _plafond_650(
    engine: AsyncEngine, nombre: int, **options: int
) -> tuple[list[uuid.UUID], ServiceImpact, Rejeu]:
    """`nombre` decisions journaled, and their replay under the plafond moved to 650 € prepared."""
    ident = _id()
    ids = await journaliser(engine, FOYERS[:nombre], ident)
    service = _service(engine, **options)
    proposition = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 650}, date(2027, 1, 1))
    return ids, service, await service.preparer(organisme(ident), proposition, DU, AU)


async def test_older_rows_without_the_compact_copy_replay_from_their_whole_record(
    engine: AsyncEngine,
) -> None:
    """Rows written before migration 0007 have no compact copy: read whole, the same replay."""
    ids, service, rejeu = await _plafond_650(engine, 40)
    compacts = await _tout(service, rejeu)
    assert compacts[0]["total"]["rejoues"] == 40 * len(REGLEMENT_DEMO.dispositifs)
    await sans_copie_de_rejeu(engine, ids[::2])
    assert await _tout(service, rejeu) == compacts
    await sans_copie_de_rejeu(engine, ids)
    assert await _tout(service, rejeu) == compacts
    # And the integrity check reads the whole record of such a row.
    await falsifier(engine, ids[5], "aide-alimentaire", 999)
    await sans_copie_de_rejeu(engine, [ids[5]])
    bilan, _ = await _tout(service, rejeu)
    assert bilan["alertes_integrite"] == 1
    assert bilan["alertes"][0]["decision_id"] == str(ids[5])


def _propositions(graine: int) -> list[Proposition]:
    """Random proposals: parameters moved (or not) from random dates, barèmes and conditions
    rewritten, the same text."""
    alea = random.Random(graine)  # noqa: S311 - test data
    nombres = sorted(n for n, p in REGLEMENT_DEMO.parametres.items() if p.type == "nombre")
    texte = FICHIER_DEMO.read_text(encoding="utf-8")
    propositions = [
        depuis_yaml(texte, None),
        depuis_yaml(texte.replace('montant: 100, libelle: "2"', 'montant: 110, libelle: "2"'), None),
        depuis_yaml(
            texte.replace("valeur: 800, deliberation", "valeur: 850, deliberation"), date(2026, 6, 1)
        ),
        depuis_yaml(PROPOSITION_RSA, None),
    ]
    for _ in range(8):
        valeurs = {}
        for nom in alea.sample(nombres, alea.randint(1, 3)):
            actuelle = REGLEMENT_DEMO.parametres[nom].valeurs[-1].valeur
            assert isinstance(actuelle, Decimal)
            valeurs[nom] = int(actuelle) + alea.choice([-100, -10, 0, 0, 5, 50, 150])
        jour = alea.choice([date(2025, 6, 1), date(2026, 1, 1), date(2026, 5, 1), date(2027, 1, 1)])
        propositions.append(depuis_parametres(REGLEMENT_DEMO, valeurs, jour))
    return propositions


async def test_reusing_the_verdicts_of_unchanged_aids_never_changes_the_outcome(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every aid evaluated twice (no reuse) gives the very same summary and lines, on random
    proposals; and the reuse does happen."""
    ident = _id()
    await journaliser(engine, FOYERS, ident)
    service = _service(engine)
    repris = 0
    originale = Contexte.identiques

    def comptee(self: Contexte, original: Reglement, jour: date) -> frozenset[str]:
        nonlocal repris
        identiques = originale(self, original, jour)
        repris += len(identiques)
        return identiques

    for proposition in _propositions(graine=1717):
        rejeu = await service.preparer(organisme(ident), proposition, DU, AU)
        monkeypatch.setattr(Contexte, "identiques", comptee)
        avec = await _tout(service, rejeu)
        monkeypatch.setattr(Contexte, "identiques", lambda self, original, jour: frozenset())
        sans = await _tout(service, rejeu)
        assert avec == sans, proposition.reference
        assert avec[0]["alertes_integrite"] == 0
    assert repris > 0


async def test_the_short_replay_counts_exactly_as_the_aid_by_aid_replay(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decisions counted by what they gave (`_rejeu_courant`, folded in at the end) give the very
    summary and lines of the aid-by-aid replay, with alerts and aids counted apart in the period;
    and most decisions do take the short way."""
    ident = _id()
    # Households decided twice: the same results counted several times over.
    ids = await journaliser(engine, FOYERS + FOYERS[:60], ident)
    await falsifier(engine, ids[5], "aide-alimentaire", 999)
    service = _service(engine, lot=7)  # several pages, counts folded in once at the end
    courts = 0
    originale = service_impact._rejeu_courant

    def comptee(*args: Any, **kwargs: Any) -> bool:
        nonlocal courts
        fait = originale(*args, **kwargs)
        courts += fait
        return fait

    for proposition in [*_propositions(graine=1718)[:6], depuis_yaml(PROPOSITION_RSA, None)]:
        rejeu = await service.preparer(organisme(ident), proposition, DU, AU)
        monkeypatch.setattr(service_impact, "_rejeu_courant", comptee)
        court = await _tout(service, rejeu)
        monkeypatch.setattr(service_impact, "_rejeu_courant", lambda *args, **kwargs: False)
        long = await _tout(service, rejeu)
        assert court == long, proposition.reference
        assert court[0]["alertes_integrite"] >= 1
    assert courts > len(FOYERS)


async def test_counts_folded_in_mid_replay_equal_a_naive_recount(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The short way's two counts — decisions the proposal leaves as journaled (`inchanges`, their
    verdicts never hashed) and those it changes (`comptes`) — folded into the summary every few
    distinct cases (COMPTES_MAX), give the summary and lines of the aid-by-aid replay (the naive
    recount), with an integrity alert, decisions decided twice and aids counted apart."""
    ident = _id()
    ids = await journaliser(engine, FOYERS + FOYERS[:30], ident)
    await falsifier(engine, ids[7], "aide-alimentaire", 999)
    service = _service(engine, lot=9)
    monkeypatch.setattr(service_impact, "COMPTES_MAX", 3)
    soldes: list[tuple[int, int]] = []
    solder = Contexte.solder

    def soldee(self: Contexte, bilan: Bilan) -> None:
        soldes.append((len(self.inchanges), len(self.comptes)))
        solder(self, bilan)

    monkeypatch.setattr(Contexte, "solder", soldee)
    for proposition in (
        depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 650}, date(2027, 1, 1)),
        depuis_yaml(PROPOSITION_RSA, None),
    ):
        rejeu = await service.preparer(organisme(ident), proposition, DU, AU)
        court = await _tout(service, rejeu)
        with monkeypatch.context() as m:
            m.setattr(service_impact, "_rejeu_courant", lambda *args, **kwargs: False)
            naif = await _tout(service, rejeu)
        assert court == naif, proposition.reference
        assert court[0]["alertes_integrite"] == 1
    assert court[0]["total"]["non_evaluables"] > 0
    assert len(soldes) > 4  # folded in during the replay, not only at its end
    assert sum(i for i, _ in soldes) > 0
    assert sum(c for _, c in soldes) > 0


def test_an_aid_naming_a_moved_parameter_is_never_taken_as_unchanged() -> None:
    jour = date(2026, 5, 1)
    autre = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 650}, date(2026, 1, 1)).reglement
    tous = {d.id for d in REGLEMENT_DEMO.dispositifs}
    assert Identites(REGLEMENT_DEMO, autre).a(jour) == tous - {"aide-alimentaire"}
    # The same value again (650 written as 650.0 is another text: not proven the same).
    meme = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": 600}, date(2026, 1, 1)).reglement
    assert Identites(REGLEMENT_DEMO, meme).a(jour) == tous
    decimal = depuis_parametres(REGLEMENT_DEMO, {"plafond_qf_alimentaire": "600.0"}, date(2026, 1, 1))
    assert Identites(REGLEMENT_DEMO, decimal.reglement).a(jour) == tous - {"aide-alimentaire"}
    # A proposal applies what is in force on its effective date to every earlier date
    # (en_vigueur_des): on 2025-01-01 the RFR plafond (10 500 → 11 000 €), the colis age (none yet →
    # 70) and the cantine barème (none yet) differ too; only the energy aid is untouched.
    assert Identites(REGLEMENT_DEMO, autre).a(date(2025, 1, 1)) == {"aide-energie"}
    # A barème changed: the aids reading it.
    bareme = depuis_yaml(
        FICHIER_DEMO.read_text(encoding="utf-8").replace(
            'montant: 100, libelle: "2"', 'montant: 110, libelle: "2"'
        ),
        None,
    ).reglement
    assert Identites(REGLEMENT_DEMO, bareme).a(jour) == tous - {"aide-energie"}
    # A condition rewritten: that aid only.
    assert Identites(REGLEMENT_DEMO, depuis_yaml(PROPOSITION_RSA, None).reglement).a(jour) == tous - {
        "aide-alimentaire"
    }


def test_the_cycle_collector_resumes_after_every_page_even_a_failing_one() -> None:
    assert gc.isenabled()
    with sans_ramasse_miettes():
        assert not gc.isenabled()
        with sans_ramasse_miettes():  # another page at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still running
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), sans_ramasse_miettes():
        _ = 1 / 0
    assert gc.isenabled()
    gc.disable()  # paused by someone else: left to them
    try:
        with sans_ramasse_miettes():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_older_copy_formats_replay_the_same(engine: AsyncEngine) -> None:
    """Copies of format 1 (sealed `a1.`, or Fernet tokens before) give the same bilan and lines."""
    ids, service, rejeu = await _plafond_650(engine, 30)
    actuelles = await _tout(service, rejeu)
    assert actuelles[1]  # something changes
    await copies_anciennes(engine, ids[::3], "a1")
    await copies_anciennes(engine, ids[1::3], "fernet")
    assert await _tout(service, rejeu) == actuelles


async def test_an_altered_compact_copy_is_an_integrity_alert(engine: AsyncEngine) -> None:
    """A copy that does not open under its key, which the ring holds, was altered: an alert on each
    of its aids, and the decision replayed from its whole record (the rest of the bilan unchanged)."""
    ids, service, rejeu = await _plafond_650(engine, 30)
    avant, lignes_avant = await _tout(service, rejeu)
    await alterer_copie(engine, ids[7])
    apres, lignes_apres = await _tout(service, rejeu)
    alertes = [ligne for ligne in lignes_apres if ligne.type == "alerte_integrite"]
    assert {a.decision_id for a in alertes} == {ids[7]}
    assert [a.dispositif for a in alertes] == [d.id for d in REGLEMENT_DEMO.dispositifs]
    assert all(a.raison is not None and "altérée" in a.raison for a in alertes)
    assert apres["alertes_integrite"] == len(alertes)
    assert apres["decisions_illisibles"] == 0
    # Replayed from the whole record: the same counts and changes as before the alteration.
    assert {k: v for k, v in apres.items() if k not in {"alertes_integrite", "alertes"}} == {
        k: v for k, v in avant.items() if k not in {"alertes_integrite", "alertes"}
    }
    assert [ligne for ligne in lignes_apres if ligne.type != "alerte_integrite"] == lignes_avant


async def test_a_replay_stopped_early_leaves_no_page_being_fetched(engine: AsyncEngine) -> None:
    """The next page is fetched while one is replayed: a consumer that stops (a client gone) does
    not leave that fetch running with its connection (SQLite has one), and a replay after it works."""
    _, service, rejeu = await _plafond_650(engine, 30, lot=5)
    pages = service.changements(rejeu)
    await anext(pages)
    await pages.aclose()
    bilan, _ = await _tout(service, rejeu)
    assert bilan["decisions"] == 30
