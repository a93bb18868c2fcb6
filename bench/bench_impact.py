"""The impact of a proposed règlement (issue 17), end to end from the journal, on one core.

100 000 decisions of the 10-aid intercommunal règlement (`reglements/exemples/ccas-intercommunal.yaml`,
the households of bench/bench_reglement.py) are written through the journal's own writer
(`Journal.enregistrer`, group commit by LOT_ECRITURE): the record of `decision_json` plus the facts
used, encrypted with the journal's key ring, and its compact copy for replays (migration 0007) —
exactly what the eligibility flow journals, each household's record encoded once and its id and
dossier swapped in per copy (`DocumentJson`, as the flow does). On PostgreSQL and on SQLite. Then
`ServiceImpact.preparer` + `mesurer` replay them under a proposal moving two thresholds (plafond de
QF de l'aide alimentaire 650 → 700 €, de l'aide à la rentrée 900 → 950 €), each run in a fresh
process pinned to one core (`taskset -c 0`), timed (wall) with its peak RSS. Targets: ≤ 10 s and
≤ 300 MB.

The floors, measured the same way: the rows fetched only (`lecture_brute`), their compact copy
decrypted (`dechiffrement`), opened (`lecture`: what `RelectureJournal.ouvrir` gives — format 2
split into its segments, format 1 parsed), the facts typed (`lecture_faits`); and evaluation
alone on 10 000 decisions held in memory, × 10 (`evaluation`: every aid under the règlement decided
with, the aids the proposal changes under the proposal; `evaluation_sans_reprise`: every aid twice).

Run with `.venv/bin/python bench/bench_impact.py` (`make bench` runs it too); prints and writes
bench/results/impact.json. `EG_BENCH_IMPACT_DECISIONS=20000` for a quicker run while working,
`EG_BENCH_IMPACT_RESULTATS` to write elsewhere. PostgreSQL on 127.0.0.1:5432 (user postgres): a
throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.engine import DocumentJson, create_engine_from_url, dumps_json
from app.db.migrate import upgrade_database
from app.rules.engine import evaluer
from app.rules.loader import charger_reglement
from app.rules.serialization import faits_vers_dict
from app.services.amont.collecte import Collecte
from app.services.eligibilite import FUSEAU_CCAS, decision_json
from app.services.impact import Rejeu, ServiceImpact, bilan_json, depuis_parametres
from app.services.impact.rejeu import LecteurFaits
from app.services.impact.service import Contexte
from app.services.journal import ConsultationRecord, DecisionRecord, Journal
from app.services.journal.chiffrement import TrousseauJournal
from app.services.journal.rejeu import resultats_de
from app.services.journal.relecture import RelectureJournal
from app.services.organismes import Organisme
from bench.bench_reglement import GRAINE, JOUR, REGLEMENT, faits_moteur, foyer

RACINE = Path(__file__).resolve().parent.parent
RESULTATS = Path(
    os.environ.get("EG_BENCH_IMPACT_RESULTATS", Path(__file__).resolve().parent / "results" / "impact.json")
)
DECISIONS = int(os.environ.get("EG_BENCH_IMPACT_DECISIONS", "100000"))
#: Distinct households, each journaled DECISIONS / FOYERS times (own id, dossier, date, encryption).
FOYERS = min(DECISIONS, 10_000)
#: Reference dates the decisions spread over (one compiled plan per date and règlement).
JOURS = 30
ORGANISME = "ccas-intercommunal"
AUTRE = "autre-organisme"
DU, AU = date(2026, 5, 1), date(2026, 7, 31)
CHANGEMENTS = {"plafond_qf_alimentaire": 700, "plafond_qf_rentree": 950}
TROUSSEAU = TrousseauJournal.depuis_reglages(None, SecretStr("banc-impact-" + "s" * 32))
#: Records per transaction: a lot of 500 (≈ 20 MB) stays well within the connection's 10 s command
#: timeout on a loaded machine (2 000 did not, at load 14).
LOT_ECRITURE = 500
CIBLE_SECONDES, CIBLE_MO = 10.0, 300


# -- the journal ------------------------------------------------------------------------------------


def _enregistrements() -> list[tuple[date, dict[str, Any]]]:
    """FOYERS households, each evaluated once (full evaluation, as the eligibility flow does)."""
    reglement = charger_reglement(REGLEMENT)
    alea = random.Random(GRAINE)
    resultat = []
    for rang in range(FOYERS):
        x, _ = foyer(alea)
        jour = JOUR + timedelta(days=rang % JOURS)
        faits = faits_moteur(x, reglement)
        evaluation = evaluer(reglement, faits, jour)
        contenu = decision_json(
            evaluation,
            decision_id=uuid.uuid4(),
            cree_le=datetime(2026, 5, 15, tzinfo=FUSEAU_CCAS),
            dossier_ref="D",
            collecte=Collecte(),
            mention_texte="Décision proposée par un algorithme (banc d'essai).",
        )
        resultat.append((jour, {**contenu, "faits": faits_vers_dict(faits)}))
    return resultat


#: Stand-ins for a decision's id and dossier in a household's encoded record (replaced per copy).
_ID, _DOSSIER = "00000000-0000-4000-8000-00000000bbbb", "D-BANC-DOSSIER"


def _modeles_encodes(modeles: list[tuple[date, dict[str, Any]]]) -> list[tuple[date, dict[str, Any], str]]:
    """Each household's record encoded once, as the eligibility flow encodes it (`DocumentJson`:
    the journal stores that text); each copy then only swaps its id and dossier in."""
    encodes = []
    for jour, modele in modeles:
        contenu = {**modele, "id": _ID, "dossier_ref": _DOSSIER}
        texte = dumps_json(contenu)
        assert texte.count(_ID) == 1
        assert texte.count(_DOSSIER) == 1
        encodes.append((jour, contenu, texte))
    return encodes


async def _ecrire(url: str, modeles: list[tuple[date, dict[str, Any]]]) -> None:
    """DECISIONS decisions (and a few of another organisme) through the journal's own writer
    (`Journal.enregistrer`, group commit: LOT_ECRITURE records per transaction), encrypted."""
    reglement = charger_reglement(REGLEMENT)
    encodes = _modeles_encodes(modeles)
    engine = create_engine_from_url(url)
    journal = Journal(engine, trousseau=TROUSSEAU, batch_max=LOT_ECRITURE, timeout_seconds=3600)
    try:
        lot: list[tuple[ConsultationRecord, DecisionRecord]] = []
        for rang in range(DECISIONS + DECISIONS // 100):
            organisme = ORGANISME if rang < DECISIONS else AUTRE
            jour, modele, texte = encodes[rang % FOYERS]
            cree_le = datetime.combine(jour, datetime.min.time(), tzinfo=FUSEAU_CCAS) + timedelta(
                seconds=rang
            )
            decision_id, dossier = uuid.uuid4(), f"D-2026-{rang:06d}"
            consultation = ConsultationRecord(
                organisme_id=organisme,
                type="eligibilite",
                statut="succes",
                cree_le=cree_le,
                dossier_ref=dossier,
            )
            contenu = DocumentJson(
                {**modele, "id": str(decision_id), "dossier_ref": dossier},
                texte.replace(_ID, str(decision_id)).replace(_DOSSIER, dossier),
            )
            decision = DecisionRecord(
                id=decision_id,
                consultation_id=consultation.id,
                organisme_id=organisme,
                date_reference=jour,
                reglement_id=reglement.id,
                reglement_version=reglement.version,
                reglement_empreinte=reglement.empreinte,
                contenu=contenu,
                cree_le=cree_le,
                dossier_ref=dossier,
            )
            lot.append((consultation, decision))
            if len(lot) >= LOT_ECRITURE:
                await asyncio.gather(*(journal.enregistrer(c, d) for c, d in lot))
                lot = []
        if lot:
            await asyncio.gather(*(journal.enregistrer(c, d) for c, d in lot))
    finally:
        await engine.dispose()


# -- one measurement, in its own pinned process ------------------------------------------------------


def _service(url: str) -> tuple[ServiceImpact, AsyncEngine]:
    engine = create_engine_from_url(url)
    return ServiceImpact(engine, TROUSSEAU, decisions_max=DECISIONS * 2, periode_jours_max=366), engine


async def _mesurer(url: str, mode: str) -> dict[str, Any]:
    reglement = charger_reglement(REGLEMENT)
    organisme = Organisme(ORGANISME, "CCAS intercommunal", "26999000800006", reglement, None)
    proposition = depuis_parametres(reglement, CHANGEMENTS, date(2027, 1, 1))
    service, engine = _service(url)
    try:
        debut, cpu = time.perf_counter(), time.process_time()
        rejeu = await service.preparer(organisme, proposition, DU, AU)  # counts the period
        if mode == "complet":
            bilan = bilan_json(await service.mesurer(rejeu))
            return {
                "secondes": round(time.perf_counter() - debut, 2),
                # CPU time of the process (every thread): what a loaded machine inflates least.
                "cpu_secondes": round(time.process_time() - cpu, 2),
                "bilan": bilan,
            }
        relecture = RelectureJournal(engine, TROUSSEAU)
        if mode.startswith("evaluation"):
            return await _evaluation(relecture, rejeu, mode)
        return await _lecture(relecture, rejeu, mode)
    finally:
        await engine.dispose()


async def _lecture(relecture: RelectureJournal, rejeu: Rejeu, mode: str) -> dict[str, Any]:
    """The floors: rows fetched only (`lecture_brute`), their compact copy decrypted
    (`dechiffrement`), parsed (`lecture`: what `RelectureJournal.ouvrir` gives), and the facts typed
    (`lecture_faits`)."""
    catalogue = rejeu.organisme.reglement.catalogue
    lecteur = LecteurFaits()
    lues = 0
    debut, cpu = time.perf_counter(), time.process_time()
    async for page in relecture.pages(ORGANISME, rejeu.debut, rejeu.fin):
        if mode == "lecture_brute":
            lues += len(page)
        elif mode == "dechiffrement":
            lues += sum(relecture.dechiffrer_copie(ligne) is not None for ligne in page)
        else:
            for decision in relecture.ouvrir(page):
                lues += 1
                if mode == "lecture_faits" and decision.rejeu is not None:
                    lecteur.faits(decision.rejeu, catalogue)
    return {
        "secondes": round(time.perf_counter() - debut, 2),
        "cpu_secondes": round(time.process_time() - cpu, 2),
        "decisions": lues,
    }


async def _evaluation(relecture: RelectureJournal, rejeu: Rejeu, mode: str) -> dict[str, Any]:
    """10 000 decisions read first (not timed), then what the replay evaluates — (a) every aid
    under the règlement decided with, (b) under the proposal the aids it changes
    (`evaluation_sans_reprise`: every aid, as before the reuse) — timed, × DECISIONS / 10 000."""
    reglement, proposition = rejeu.organisme.reglement, rejeu.proposition.reglement
    contexte = Contexte(rejeu)
    echantillon = []
    async for page in relecture.pages(ORGANISME, rejeu.debut, rejeu.fin):
        for decision in relecture.ouvrir(page):
            assert decision.rejeu is not None
            ids = tuple(str(r[0]) for r in resultats_de(decision.rejeu))
            faits = contexte.lecteur.faits(decision.rejeu, reglement.catalogue)
            echantillon.append((decision.date_reference, faits, ids))
        if len(echantillon) >= FOYERS:
            break
    echantillon = echantillon[:FOYERS]
    debut, cpu = time.perf_counter(), time.process_time()
    for jour, faits, ids in echantillon:
        contexte.verdicts(reglement, faits, jour, ids)
        if mode == "evaluation_sans_reprise":
            contexte.verdicts(proposition, faits, jour, ids)
        elif autres := tuple(d for d in ids if d not in contexte.identiques(reglement, jour)):
            contexte.verdicts(proposition, faits, jour, autres)
    facteur = DECISIONS / len(echantillon)
    return {
        "secondes": round((time.perf_counter() - debut) * facteur, 2),
        "cpu_secondes": round((time.process_time() - cpu) * facteur, 2),
        "extrapole_de": len(echantillon),
    }


def _rss_max_mo() -> float:
    """This process's peak RSS since its exec (VmHWM): `getrusage`'s ru_maxrss would carry over the
    parent's high-water mark across fork and exec (Linux)."""
    for ligne in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if ligne.startswith("VmHWM:"):
            return round(int(ligne.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _enfant(url: str, mode: str) -> None:
    resultat = asyncio.run(_mesurer(url, mode))
    resultat["rss_max_mo"] = _rss_max_mo()
    print(json.dumps(resultat))


def _mesure(url: str, mode: str) -> dict[str, Any]:
    commande = [sys.executable, __file__, "--mesurer", url, "--mode", mode]
    if shutil.which("taskset"):
        commande = ["taskset", "-c", "0", *commande]
    sortie = subprocess.run(commande, check=True, capture_output=True, text=True, cwd=RACINE)  # noqa: S603
    resultat: dict[str, Any] = json.loads(sortie.stdout.strip().splitlines()[-1])
    return resultat


# -- the databases -----------------------------------------------------------------------------------

PG = os.environ.get("EG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


async def _admin(statement: str) -> None:
    engine = create_async_engine(
        PG.replace("postgresql://", "postgresql+asyncpg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def _banc(url: str, modeles: list[tuple[date, dict[str, Any]]], modes: tuple[str, ...]) -> dict[str, Any]:
    upgrade_database(url)
    debut = time.perf_counter()
    asyncio.run(_ecrire(url, modeles))
    ecriture = round(time.perf_counter() - debut, 1)
    resultats: dict[str, Any] = {"ecriture_secondes": ecriture}
    for mode in modes:
        resultats[mode] = _mesure(url, mode)
        print(
            f"  {mode}: {resultats[mode].get('secondes')} s (CPU {resultats[mode].get('cpu_secondes')} s), "
            f"{resultats[mode]['rss_max_mo']} Mo",
            flush=True,
        )
    return resultats


def main(bases: tuple[str, ...] = ("sqlite", "postgresql")) -> int:
    print(f"Génération de {FOYERS} foyers évalués (règlement à 10 aides)…", flush=True)
    modeles = _enregistrements()
    resultats: dict[str, Any] = {}
    if "sqlite" in bases:
        with tempfile.TemporaryDirectory() as dossier:
            print("SQLite :", flush=True)
            resultats["sqlite"] = _banc(
                f"sqlite:///{dossier}/journal.db",
                modeles,
                ("complet", "lecture_brute", "dechiffrement", "lecture"),
            )
    if "postgresql" in bases:
        nom = f"eg_bench_impact_{secrets.token_hex(4)}"
        asyncio.run(_admin(f'CREATE DATABASE "{nom}"'))
        try:
            print("PostgreSQL :", flush=True)
            resultats["postgresql"] = _banc(
                f"{PG}/{nom}",
                modeles,
                (
                    "complet",
                    "lecture_brute",
                    "dechiffrement",
                    "lecture",
                    "lecture_faits",
                    "evaluation",
                    "evaluation_sans_reprise",
                ),
            )
        finally:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{nom}" WITH (FORCE)'))
    bilans = [r["complet"].pop("bilan") for r in resultats.values()]
    # `--bases sqlite` re-measures one database and keeps the other's figures from the last run
    # (read now, at the end, so that a run finishing meanwhile is not overwritten).
    precedent = json.loads(RESULTATS.read_text(encoding="utf-8")) if RESULTATS.is_file() else {}
    resultats = {**precedent.get("resultats", {}), **resultats}
    bilan = (
        bilans[-1]
        if bilans
        else {"total": precedent.get("bilan_total"), "alertes_integrite": precedent.get("alertes_integrite")}
    )
    sortie = {
        "reglement": str(REGLEMENT.relative_to(RACINE)),
        "decisions": DECISIONS,
        "foyers_distincts": FOYERS,
        "dates_de_reference": JOURS,
        "proposition": CHANGEMENTS,
        "methode": "ServiceImpact.preparer + mesurer de bout en bout depuis le journal chiffré, dans un "
        "processus neuf épinglé sur un cœur (taskset -c 0) ; temps mur, temps CPU du processus "
        "(cpu_secondes, tous fils compris) et RSS maximal du processus",
        "cibles": {"secondes": CIBLE_SECONDES, "rss_max_mo": CIBLE_MO},
        "resultats": resultats,
        "bilan_total": bilan["total"],
        "alertes_integrite": bilan["alertes_integrite"],
        "machine": {
            "python": platform.python_version(),
            "processeur": platform.processor() or platform.machine(),
            "coeurs": os.cpu_count(),
            # The machine is shared: its load while the bench ran says how far the figures are inflated.
            "charge_moyenne_1_5_15_min": [round(x, 2) for x in os.getloadavg()],
        },
    }
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(sortie, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(sortie["resultats"], indent=2))
    return 0


if __name__ == "__main__":
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--mesurer", default=None)
    arguments.add_argument("--mode", default="complet")
    arguments.add_argument("--bases", default="sqlite,postgresql", help="bases mesurées (sqlite, postgresql)")
    lus = arguments.parse_args()
    if lus.mesurer:
        _enfant(lus.mesurer, lus.mode)
        sys.exit(0)
    sys.exit(main(tuple(lus.bases.split(","))))
