"""Benchmark of campaigns (issue 18): a whole file decided at the pace the quota allows.

Real processes on loopback: the API Particulier simulator (20 calls/s per token, counting per
clock second as the real one does), the gateway (Redis db 14, a throwaway PostgreSQL journal) and
two `eg worker` processes. Every line has its own identity, unknown to the sandbox: one upstream
call each (a 404, the aid `a_verifier`), so upstream calls = lines exactly when nothing is asked
twice.

0. Pace alone: 2,000 lines at 20 calls/s with no one at the counter, against 2,000 / 20 = 100 s.
1. Pace: 2,000 lines at 20 calls/s: total time against the quota-bound minimum (2,000 / 20 =
   100 s plus one decision), upstream 429s, and a counter request made every 2 s during the
   campaign against the same request when the gateway is idle; with each, the same request
   served from the cache and `/healthz`, to tell by difference where the counter's time goes
   (the quota and the upstream call, the decision, the process), and the CPU each process of
   the stack burnt during the campaign.
2. Kill: 1,000 lines, one worker SIGKILLed at 50 %: upstream calls against lines, decisions
   journaled against lines.
3. Memory: 20,000 lines of one identity (cached after the first: the pace is the CPU's, every line
   still a journaled decision): RSS of each worker and of the gateway, sampled along the way.

Run with `.venv/bin/python bench/bench_campagnes.py [--seul 2000] [--lignes 2000] [--arret 1000]
[--memoire 20000]` (0 skips a part; `BENCH_REDIS_URL` another Redis database than 14); writes
bench/results/campagnes.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import text

from app.db.engine import create_engine_from_url
from bench.bench_protection import MARTIN_AXELLE, _controle, inconnu
from bench.bench_quotas import _vider_redis
from bench.serveurs import API_KEY, PYTHON, REDIS_URL, ROOT, _env, passerelle, simulateur
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "campagnes.json"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
QUOTA = 20
EN_TETE = (
    "dossier_ref;nom_naissance;prenoms;sexe;date_naissance;code_cog_insee_commune_naissance;"
    "code_cog_insee_pays_naissance;commune_residence"
)


def _fichier(lignes: int, *, debut: int = 0, meme_identite: bool = False) -> Iterator[bytes]:
    yield (EN_TETE + "\n").encode()
    for n in range(debut, debut + lignes):
        nom = "MARTIN" if meme_identite else inconnu(n)["nom_naissance"]
        yield f"B-{n};{nom};AXELLE;F;1989-12-03;35238;99100;35238\n".encode()


def _reglages(base: str, flux: str, **extra: str) -> dict[str, str]:
    return {
        # The simulator has no per-IP quota: only the token's 20/s is measured here.
        "QUOTA_API_PARTICULIER_PAR_IP_PAR_MINUTE": "100000",
        "CAMPAGNE_FLUX_REDIS": flux,
        "CAMPAGNE_REPRISE_SECONDS": "5",
        "CAMPAGNE_BAIL_SECONDS": "10",
        "CAMPAGNE_CONCURRENCE": "8",
        **extra,
    }


@contextmanager
def workers(
    sim: str, base: str, reglages: dict[str, str], nombre: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = _env(
        GATEWAY_MODE="sandbox",
        GATEWAY_DEMO_API_KEY=API_KEY,
        API_PARTICULIER_URL=sim,
        API_PARTICULIER_TOKEN="jeton-banc-essai",  # noqa: S106 - the simulator's, not a secret
        REDIS_URL=REDIS_URL,
        DATABASE_URL=base,
        DATABASE_AUTO_MIGRATE="false",
        LOG_LEVEL="WARNING",
        LOG_JSON="true",
        **reglages,
    )
    processus = []
    for _ in range(nombre):
        processus.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                [PYTHON, "-m", "app", "worker", "--lots", "2"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        time.sleep(2)  # each installs the demo organisme in turn
    try:
        yield processus
    finally:
        for p in processus:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processus:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _rss_mo(pid: int) -> float | None:
    try:
        for ligne in Path(f"/proc/{pid}/status").read_text().splitlines():
            if ligne.startswith("VmRSS:"):
                return round(int(ligne.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _pid_passerelle(port: str) -> int | None:
    """The process serving `port` (the gateway by `python -m app serve`, or the simulator)."""
    sortie = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False)  # noqa: S603, S607
    if "pid=" not in sortie.stdout:
        return None
    return int(sortie.stdout.split("pid=", 1)[1].split(",", 1)[0])


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of `pid` so far (0 when gone)."""
    if pid is None:
        return 0.0
    try:
        champs = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(champs[11]) + int(champs[12])) / os.sysconf("SC_CLK_TCK")


def _pids(nom: str) -> list[int]:
    sortie = subprocess.run(["pgrep", "-x", nom], capture_output=True, text=True, check=False)  # noqa: S603, S607
    return [int(p) for p in sortie.stdout.split()]


class Processeur:
    """CPU seconds spent by each process of the stack between `__init__` and `releve` (the machine
    has 2 cores: what the workers, PostgreSQL and the simulator burn is what the counter lacks).
    PostgreSQL and Redis are counted whole: other sessions on them count too."""

    def __init__(self, pids: dict[str, list[int | None]]) -> None:
        self._pids: dict[str, list[int | None]] = {
            **pids,
            "postgresql": list(_pids("postgres")),
            "redis": list(_pids("redis-server")),
        }
        self._debut = {nom: sum(_cpu_s(p) for p in liste) for nom, liste in self._pids.items()}
        self._t0 = time.perf_counter()
        self._total0 = self._machine()

    @staticmethod
    def _machine() -> float:
        champs = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        return (sum(int(c) for c in champs) - int(champs[3]) - int(champs[4])) / os.sysconf("SC_CLK_TCK")

    def releve(self) -> dict[str, Any]:
        duree = time.perf_counter() - self._t0
        par = {
            nom: round(sum(_cpu_s(p) for p in liste) - self._debut[nom], 1)
            for nom, liste in self._pids.items()
        }
        machine = self._machine() - self._total0
        return {
            "cpu_s": par,
            "coeurs_occupes": {nom: round(v / duree, 2) for nom, v in par.items()},
            "machine_coeurs_occupes": round(machine / duree, 2),
        }


async def _lancer(http: httpx.AsyncClient, fichier: Iterator[bytes], dispositifs: str) -> dict[str, Any]:
    reponse = await http.post(
        f"/v1/campagnes?dispositifs={dispositifs}",
        content=b"".join(fichier),
        headers={**AUTH, "Content-Type": "text/csv"},
        timeout=600,
    )
    assert reponse.status_code == 202, reponse.text
    return dict(reponse.json())


async def _etat(http: httpx.AsyncClient, campagne_id: str) -> dict[str, Any]:
    return dict((await http.get(f"/v1/campagnes/{campagne_id}", headers=AUTH)).json())


async def _attendre(
    http: httpx.AsyncClient, campagne_id: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The campaign's state once `condition` holds (polled: the state lives in the database)."""
    while True:
        etat = await _etat(http, campagne_id)
        if condition(etat):
            return etat
        await asyncio.sleep(0.1)


async def _guichet(http: httpx.AsyncClient, n: int | None) -> float:
    """A counter request: an unknown identity (`n`: one upstream call, so a place in the quota),
    or with `n` None a sandbox identity already in the cache (the same flow without the limiter
    and the upstream call)."""
    demandeur = MARTIN_AXELLE if n is None else inconnu(n)
    debut = time.perf_counter()
    reponse = await http.post(
        "/v1/eligibilite",
        json={"demandeur": demandeur, "dispositifs": ["colis-fin-annee"], "dossier_ref": "GUICHET"},
        headers=AUTH,
    )
    assert reponse.status_code == 200, reponse.text
    return time.perf_counter() - debut


async def _sante(http: httpx.AsyncClient) -> float:
    """`/healthz`: no database, no Redis — the event loop and the CPU alone."""
    debut = time.perf_counter()
    reponse = await http.get("/healthz")
    assert reponse.status_code == 200, reponse.text
    return time.perf_counter() - debut


async def _sondes(http: httpx.AsyncClient, n: int) -> tuple[float, float, float]:
    """(counter request with an upstream call, the same from the cache, `/healthz`): where the
    counter's time goes, by difference — the quota and the call, the decision, the process."""
    return await _guichet(http, n), await _guichet(http, None), await _sante(http)


def _ms(echantillons: list[float]) -> dict[str, float]:
    ordonnes = sorted(echantillons)
    return {
        "n": len(ordonnes),
        "p50": round(statistics.median(ordonnes) * 1000, 1),
        "p90": round(ordonnes[int(len(ordonnes) * 0.9)] * 1000, 1),
        "max": round(ordonnes[-1] * 1000, 1),
    }


async def rythme(gw: str, sim: str, lignes: int, processus: list[subprocess.Popen[bytes]]) -> dict[str, Any]:
    pids: dict[str, list[int | None]] = {
        "passerelle": [_pid_passerelle(gw.rsplit(":", 1)[1])],
        "workers": [p.pid for p in processus],
        "simulateur": [_pid_passerelle(sim.rsplit(":", 1)[1])],
    }
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    async with httpx.AsyncClient(base_url=gw, timeout=60) as http:
        for n in range(5):  # warm-up: connections, règlement, journal, the cached identity
            await _sondes(http, 900_000 + n)
        repos = [await _sondes(http, 910_000 + n) for n in range(30)]
        au_repos = [s[0] for s in repos]
        # The agents stay "at the counter" (their share reserved) for the whole campaign: they
        # called just before it, and call every 2 s during it.
        await asyncio.sleep(1.5)  # the idle calls' windows are over
        await _controle(sim, "POST", "/__simulateur/reinitialiser")
        processeur = Processeur(pids)
        debut = time.perf_counter()
        lancee = await _lancer(http, _fichier(lignes, debut=100_000), "colis-fin-annee")
        sondes: list[tuple[float, float, float]] = []
        prochain_guichet = time.perf_counter() + 3
        n = 920_000
        while True:
            if time.perf_counter() >= prochain_guichet:
                sondes.append(await _sondes(http, n))
                n += 1
                prochain_guichet = time.perf_counter() + 2
            etat = await _etat(http, lancee["id"])
            if etat["etat"] != "en_cours":
                break
            await asyncio.sleep(0.2)
        duree = time.perf_counter() - debut
        cpu = processeur.releve()
    pendant = [s[0] for s in sondes]
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    minimum = (lignes + len(pendant)) / QUOTA
    return {
        "lignes": lignes,
        "workers": 2,
        "quota_par_seconde": QUOTA,
        "duree_s": round(duree, 1),
        "minimum_s": round(minimum, 1),
        "ecart_au_minimum_pct": round(100 * (duree - minimum) / minimum, 1),
        "appels_amont": compteurs["total"],
        "max_appels_par_seconde": compteurs["max_par_seconde"],
        "reponses_429": sum(j["reponses_429"] for j in compteurs["par_jeton"].values()),
        "faites": etat["faites"],
        "en_echec": etat["en_echec"],
        "guichet_au_repos_ms": _ms(au_repos),
        "guichet_pendant_la_campagne_ms": _ms(pendant),
        "rapport_p50": round(statistics.median(pendant) / statistics.median(au_repos), 2),
        # By difference: the limiter and the upstream call (first minus second), the decision
        # (second minus third), the process and its CPU (third).
        "sondes_au_repos_p50_ms": {
            "guichet_appel_amont": _ms(au_repos)["p50"],
            "guichet_depuis_le_cache": _ms([s[1] for s in repos])["p50"],
            "healthz": _ms([s[2] for s in repos])["p50"],
        },
        "sondes_pendant_p50_ms": {
            "guichet_appel_amont": _ms(pendant)["p50"],
            "guichet_depuis_le_cache": _ms([s[1] for s in sondes])["p50"],
            "healthz": _ms([s[2] for s in sondes])["p50"],
        },
        "processeur_pendant_la_campagne": cpu,
    }


async def rythme_sans_guichet(gw: str, sim: str, lignes: int) -> dict[str, Any]:
    """The same campaign with no one at the counter (run first: no agent called within the
    minute): it may use the whole quota."""
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    async with httpx.AsyncClient(base_url=gw, timeout=60) as http:
        debut = time.perf_counter()
        lancee = await _lancer(http, _fichier(lignes, debut=500_000), "colis-fin-annee")
        etat = await _attendre(http, lancee["id"], lambda etat: etat["etat"] != "en_cours")
        duree = time.perf_counter() - debut
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    minimum = lignes / QUOTA
    return {
        "lignes": lignes,
        "duree_s": round(duree, 1),
        "minimum_s": minimum,
        "ecart_au_minimum_pct": round(100 * (duree - minimum) / minimum, 1),
        "appels_amont": compteurs["total"],
        "max_appels_par_seconde": compteurs["max_par_seconde"],
        "reponses_429": sum(j["reponses_429"] for j in compteurs["par_jeton"].values()),
        "faites": etat["faites"],
    }


async def _decisions(base: str, campagne_id: str) -> tuple[int, int]:
    engine = create_engine_from_url(base)
    try:
        async with engine.connect() as connection:
            lignes = (
                (
                    await connection.execute(
                        text("SELECT decision_id FROM campagne_lignes WHERE campagne_id = :c"),
                        {"c": uuid.UUID(campagne_id)},
                    )
                )
                .scalars()
                .all()
            )
            journal = (
                await connection.execute(
                    text("SELECT count(*) FROM decisions WHERE id = ANY(:ids)"),
                    {"ids": [i for i in lignes if i is not None]},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return len({i for i in lignes if i is not None}), int(journal)


async def arret_brutal(
    gw: str, sim: str, base: str, processus: list[subprocess.Popen[bytes]], lignes: int
) -> dict[str, Any]:
    await _controle(sim, "POST", "/__simulateur/reinitialiser")
    async with httpx.AsyncClient(base_url=gw, timeout=60) as http:
        debut = time.perf_counter()
        lancee = await _lancer(http, _fichier(lignes, debut=200_000), "colis-fin-annee")
        await _attendre(http, lancee["id"], lambda etat: etat["faites"] >= lignes // 2)
        processus[0].send_signal(signal.SIGKILL)
        processus[0].wait()
        tue_a = time.perf_counter() - debut
        etat = await _attendre(http, lancee["id"], lambda etat: etat["etat"] != "en_cours")
        duree = time.perf_counter() - debut
    compteurs = await _controle(sim, "GET", "/__simulateur/compteurs")
    lignes_decidees, journalisees = await _decisions(base, lancee["id"])
    return {
        "lignes": lignes,
        "worker_tue_a_s": round(tue_a, 1),
        "duree_s": round(duree, 1),
        "faites": etat["faites"],
        "en_echec": etat["en_echec"],
        "appels_amont": compteurs["total"],
        "appels_en_trop": compteurs["total"] - lignes,
        "decisions_distinctes": lignes_decidees,
        "decisions_journalisees": journalisees,
        "reponses_429": sum(j["reponses_429"] for j in compteurs["par_jeton"].values()),
    }


async def memoire(gw: str, processus: list[subprocess.Popen[bytes]], lignes: int) -> dict[str, Any]:
    pid_gw = _pid_passerelle(gw.rsplit(":", 1)[1])
    echantillons: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=gw, timeout=60) as http:
        avant = {
            "workers": [_rss_mo(p.pid) for p in processus],
            "passerelle": _rss_mo(pid_gw) if pid_gw else None,
        }
        debut = time.perf_counter()
        lancee = await _lancer(http, _fichier(lignes, meme_identite=True), "colis-fin-annee")
        depot = time.perf_counter() - debut
        apres_depot = _rss_mo(pid_gw) if pid_gw else None
        while (etat := await _etat(http, lancee["id"]))["etat"] == "en_cours":
            echantillons.append(
                {
                    "faites": etat["faites"],
                    "workers_mo": [_rss_mo(p.pid) for p in processus],
                }
            )
            await asyncio.sleep(2)
        duree = time.perf_counter() - debut
    jalons = {}
    for part in (0.1, 0.5, 0.9):
        proches = [e for e in echantillons if e["faites"] >= part * lignes]
        if proches:
            jalons[f"{int(part * 100)}%"] = proches[0]["workers_mo"]
    return {
        "lignes": lignes,
        "depot_s": round(depot, 1),
        "duree_s": round(duree, 1),
        "debit_par_seconde": round(lignes / duree, 1),
        "rss_avant_mo": avant,
        "rss_passerelle_apres_depot_mo": apres_depot,
        "rss_workers_mo_par_avancement": jalons,
        "rss_workers_fin_mo": [_rss_mo(p.pid) for p in processus],
        "faites": etat["faites"],
    }


async def principal(args: argparse.Namespace) -> dict[str, Any]:
    await _vider_redis()
    resultats: dict[str, Any] = {}
    with throwaway_database() as base, simulateur(quota=QUOTA) as sim:
        reglages = _reglages(
            base, f"eg-bench-campagnes:{uuid.uuid4().hex[:8]}", QUOTA_MARGE_SECONDS=args.marge
        )
        with (
            passerelle(sim, base, workers=1, extra=reglages) as gw,
            workers(sim, base, reglages, 2) as processus,
        ):
            if args.seul:
                resultats["rythme_sans_guichet"] = await rythme_sans_guichet(gw, sim, args.seul)
                print(json.dumps(resultats["rythme_sans_guichet"]), flush=True)
            if args.lignes:
                resultats["rythme"] = await rythme(gw, sim, args.lignes, processus)
                print(json.dumps(resultats["rythme"]), flush=True)
            if args.arret:
                resultats["arret_brutal"] = await arret_brutal(gw, sim, base, processus, args.arret)
                print(json.dumps(resultats["arret_brutal"]), flush=True)
        if args.memoire:
            await _vider_redis()
            reglages = _reglages(base, f"eg-bench-campagnes:{uuid.uuid4().hex[:8]}")
            with (
                passerelle(sim, base, workers=1, extra=reglages) as gw,
                workers(sim, base, reglages, 2) as processus,
            ):
                resultats["memoire"] = await memoire(gw, processus, args.memoire)
                print(json.dumps(resultats["memoire"]), flush=True)
    return resultats


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lignes", type=int, default=2000)
    parser.add_argument("--seul", type=int, default=2000, help="lignes de la campagne sans guichet")
    parser.add_argument(
        "--arret", type=int, default=1000, help="lignes de la campagne dont un worker est tué"
    )
    parser.add_argument("--memoire", type=int, default=20000)
    parser.add_argument("--marge", default="0", help="QUOTA_MARGE_SECONDS (défaut : 0)")
    args = parser.parse_args()
    resultats = asyncio.run(principal(args))
    resultats["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        # The machine is shared: its load during the run says how much CPU the workers had.
        "charge_moyenne_1_5_15_min": [round(c, 1) for c in os.getloadavg()],
    }
    resultats["reglages"] = {"quota_marge_seconds": float(args.marge), "campagne_concurrence": 8}
    precedents = json.loads(RESULTATS.read_text()) if RESULTATS.exists() else {}
    precedents.update(resultats)
    RESULTATS.write_text(json.dumps(precedents, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
