"""Hostile and clumsy callers against a real gateway (uvicorn, 1 worker, Redis, PostgreSQL):
`python bench/bench_robustesse.py` — status, duration and the worker's RSS growth per attack.

Results go to bench/results/robustesse.json. The documented bound (README, « Robustesse ») is that
every hostile request below is answered with a 4xx within ROBUSTESSE_DUREE_MAX_S seconds and that
no attack grows the worker's memory by more than ROBUSTESSE_RSS_MAX_MO megabytes; this script
measures it on the machine at hand (the test suite checks statuses, never times).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.serveurs import API_KEY, passerelle, simulateur
from tests.db.postgres import throwaway_database

RESULTATS = Path(__file__).resolve().parent / "results" / "robustesse.json"
ROBUSTESSE_DUREE_MAX_S = 2.0
ROBUSTESSE_RSS_MAX_MO = 50.0
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def bombe_yaml(eventail: int = 10, profondeur: int = 5) -> str:
    """A ~600-byte règlement whose aliases expand to eventail**profondeur conditions (10**5)."""
    texte = "&a0 {fait: quotient_familial_caf, operateur: '<=', valeur: 1}"
    for i in range(1, profondeur + 1):
        texte = f"&a{i} {{au_moins_une: [{texte}" + f", *a{i - 1}" * (eventail - 1) + "]}"
    return (
        "reglement: {id: bombe, version: '1', libelle: B, organisme: {nom: X}}\n"
        "dispositifs:\n"
        "- id: d\n"
        "  libelle: D\n"
        f"  conditions: [{texte}]\n"
    )


def reglement_lourd(dispositifs: int) -> str:
    """Within every cap: `dispositifs` aids, each with its own age band of `nombre_enfants` (each
    band walks every child). 1 100 of them on 30 000 children took 74 s before the work budget."""
    lignes = ["reglement: {id: lourd, version: '1', libelle: L, organisme: {nom: X}}", "dispositifs:"]
    for i in range(dispositifs):
        bas, haut = i % 97, i % 97 + i // 97
        lignes.append(
            f"- {{id: d{i}, libelle: D, conditions: [{{fait: nombre_enfants, age_min: {bas}, "
            f"age_max: {haut}, operateur: '>=', valeur: 1}}]}}"
        )
    return "\n".join(lignes) + "\n"


def rss_mo(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for ligne in f:
            if ligne.startswith("VmRSS:"):
                return int(ligne.split()[1]) / 1024
    return 0.0


def pid_worker(port: int) -> int:
    """The process listening on `port` (one worker: uvicorn serves in its own process)."""
    commande = ["ss", "-ltnp", f"sport = :{port}"]
    sortie = subprocess.run(commande, capture_output=True, text=True, check=True)  # noqa: S603
    morceau = sortie.stdout.split("pid=")[1]
    return int(morceau.split(",")[0])


def mesurer(nom: str, pid: int, envoyer: Any) -> dict[str, Any]:
    avant = rss_mo(pid)
    debut = time.perf_counter()
    try:
        statut: int | str = envoyer()
    except httpx.HTTPError as e:
        statut = type(e).__name__
    duree = time.perf_counter() - debut
    apres = rss_mo(pid)
    resultat = {
        "attaque": nom,
        "statut": statut,
        "duree_s": round(duree, 3),
        "rss_plus_mo": round(apres - avant, 1),
    }
    print(json.dumps(resultat, ensure_ascii=False), flush=True)
    return resultat


def rafale_de_corps(url: str, pid: int, nombre: int = 8, taille_mo: int = 100) -> dict[str, Any]:
    """`nombre` bodies of `taille_mo` MB at once, without a key: the worker's peak and kept RSS."""
    corps = b"x" * (taille_mo * 1024 * 1024)
    avant = rss_mo(pid)
    pic = avant
    fini = threading.Event()

    def echantillonner() -> None:
        nonlocal pic
        while not fini.is_set():
            pic = max(pic, rss_mo(pid))
            time.sleep(0.02)

    def envoyer() -> int | str:
        try:
            return httpx.post(url + "/v1/eligibilite", content=corps, timeout=120).status_code
        except httpx.HTTPError as e:
            return type(e).__name__

    sonde = threading.Thread(target=echantillonner)
    sonde.start()
    debut = time.perf_counter()
    with ThreadPoolExecutor(max_workers=nombre) as pool:
        statuts = list(pool.map(lambda _: envoyer(), range(nombre)))
    duree = time.perf_counter() - debut
    time.sleep(0.5)
    fini.set()
    sonde.join()
    resultat = {
        "attaque": f"{nombre} x POST /v1/eligibilite {taille_mo} Mo sans cle, en meme temps",
        "statut": sorted(set(map(str, statuts))),
        "duree_s": round(duree, 3),
        "rss_pic_plus_mo": round(pic - avant, 1),
        "rss_garde_plus_mo": round(rss_mo(pid) - avant, 1),
    }
    print(json.dumps(resultat, ensure_ascii=False), flush=True)
    return resultat


def lent(port: int, secondes: float) -> int | str:
    """Slowloris: a request line, then one header byte per second; how long until the server hangs up."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        debut = time.monotonic()
        s.settimeout(1.0)
        while time.monotonic() - debut < secondes:
            try:
                s.sendall(b"X")
                premier = s.recv(12)
            except TimeoutError:
                continue
            except OSError:
                return f"coupee apres {time.monotonic() - debut:.0f} s"
            if not premier:
                return f"coupee apres {time.monotonic() - debut:.0f} s"
            return (
                f"{premier.decode(errors='replace')[9:12]} puis coupee apres {time.monotonic() - debut:.0f} s"
            )
    return f"toujours ouverte apres {secondes:.0f} s"


def main() -> list[dict[str, Any]]:
    resultats: list[dict[str, Any]] = []
    with (
        throwaway_database() as database_url,
        simulateur() as sim,
        passerelle(sim, database_url, workers=1) as url,
    ):
        port = int(url.rsplit(":", 1)[1])
        pid = pid_worker(port)
        client = httpx.Client(base_url=url, timeout=120)

        def simulation(corps: bytes) -> int:
            return client.post(
                "/v1/simulations", content=corps, headers={**AUTH, "Content-Type": "application/json"}
            ).status_code

        for texte in ('"1e999999"', "NaN", "Infinity", "1e400", '"1e-999999"', "1" + "0" * 5000):
            corps = b'{"faits": {"quotient_familial_caf": ' + texte.encode() + b"}}"
            resultats.append(
                mesurer(f"simulation quotient_familial_caf={texte[:20]}", pid, lambda c=corps: simulation(c))
            )
        bombe = bombe_yaml()
        resultats.append(
            mesurer(
                f"simulation reglement YAML a alias ({len(bombe)} octets)",
                pid,
                lambda: simulation(json.dumps({"faits": {}, "reglement": bombe}).encode()),
            )
        )
        for dispositifs, enfants in ((1100, 50), (1100, 30_000)):
            corps = json.dumps(
                {"faits": {"enfants": ["2016-05"] * enfants}, "reglement": reglement_lourd(dispositifs)}
            ).encode()
            resultats.append(
                mesurer(
                    f"simulation {dispositifs} tranches d'age x {enfants} enfants ({len(corps) // 1024} ko)",
                    pid,
                    lambda c=corps: simulation(c),
                )
            )
        for taille in (1, 50):
            corps = b"x" * (taille * 1024 * 1024)
            resultats.append(
                mesurer(
                    f"POST /v1/eligibilite {taille} Mo sans cle",
                    pid,
                    lambda c=corps: client.post("/v1/eligibilite", content=c).status_code,
                )
            )
        resultats.append(rafale_de_corps(url, pid))
        resultats.append(mesurer("corps UTF-8 invalide", pid, lambda: simulation(b'{"faits": {"\xff": 1}}')))
        resultats.append(
            mesurer("JSON imbrique 1000 niveaux", pid, lambda: simulation(b"[" * 1000 + b"]" * 1000))
        )
        resultats.append(mesurer("JSON mal forme", pid, lambda: simulation(b'{"faits": ')))
        for requete in (
            "au=9999-12-31",
            "du=0001-01-01",
            "du=0001-01-01&au=9999-12-31",
            "dossier_ref=D%00X",
            "agent_id=%00",
            "curseur=" + "A" * 200,
            "curseur=OTk5OS0xMi0zMVQyMzo1OTo1OSswMDowMHwwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA",
        ):
            resultats.append(
                mesurer(
                    f"GET /v1/journal?{requete[:40]}",
                    pid,
                    lambda r=requete: client.get(f"/v1/journal?{r}", headers=AUTH).status_code,
                )
            )
        entetes = {f"x-h{i}": "v" * 100 for i in range(500)}
        resultats.append(
            mesurer("500 en-tetes", pid, lambda: client.get("/healthz", headers=entetes).status_code)
        )
        resultats.append(
            mesurer(
                "en-tete de 200 ko",
                pid,
                lambda: client.get("/healthz", headers={"x-grand": "v" * 200_000}).status_code,
            )
        )
        resultats.append(mesurer("slowloris (30 s max)", pid, lambda: lent(port, 30.0)))
        resultats.append({"attaque": "RSS final du worker", "rss_mo": round(rss_mo(pid), 1)})
    RESULTATS.parent.mkdir(exist_ok=True)
    RESULTATS.write_text(json.dumps(resultats, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return resultats


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
