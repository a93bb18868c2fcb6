"""`eg worker`: a process deciding campaign lines from the queue; `eg campagne …`: launch a
campaign, follow it with a progress bar, fetch its results (an HTTP client of the gateway: `--url`,
`--cle` or EG_URL, EG_API_KEY)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import structlog
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from taskiq.receiver import Receiver

from app.config import get_settings
from app.container import open_services
from app.logging import configure_logging

logger = structlog.get_logger(__name__)

#: The sandbox's public demo key (README): the default when neither --cle nor EG_API_KEY is given.
CLE_DEMO = "demo-ccas-cle-publique"
_MORCEAU = 64 * 1024


def _client(args: argparse.Namespace, *, timeout: float | None = 30.0) -> httpx.Client:
    return httpx.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.cle}"},
        timeout=httpx.Timeout(timeout, connect=5.0),
    )


def _morceaux(chemin: Path) -> Iterator[bytes]:
    with chemin.open("rb") as fichier:
        while morceau := fichier.read(_MORCEAU):
            yield morceau


def _probleme(reponse: httpx.Response) -> int:
    try:
        corps = reponse.json()
    except ValueError:
        corps = {"detail": reponse.text[:500]}
    print(f"erreur {reponse.status_code} : {corps.get('detail', '')}", file=sys.stderr)
    for erreur in corps.get("erreurs", [])[:20]:
        print(f"  {erreur.get('champ')} : {erreur.get('message')}", file=sys.stderr)
    return 1


def lancer(args: argparse.Namespace) -> int:
    chemin = Path(args.fichier)
    type_contenu = "application/x-ndjson" if chemin.suffix.lower() in (".jsonl", ".ndjson") else "text/csv"
    parametres: list[tuple[str, str | int | float | bool | None]] = [
        ("dispositifs", d) for d in _liste(args.dispositifs)
    ]
    if args.date_reference:
        parametres.append(("date_reference", args.date_reference))
    with _client(args, timeout=600.0) as http:
        reponse = http.post(
            "/v1/campagnes",
            params=parametres,
            content=_morceaux(chemin),
            headers={"Content-Type": type_contenu},
        )
    if reponse.status_code != 202:
        return _probleme(reponse)
    lancee = reponse.json()
    print(
        f"campagne {lancee['id']} : {lancee['lignes_valides']} demandeur(s) en file, "
        f"{lancee['lignes_invalides']} ligne(s) refusée(s)"
    )
    for erreur in lancee["erreurs"][:20]:
        print(f"  ligne {erreur['ligne']} : {erreur['champ']} : {erreur['message']}")
    if len(lancee["erreurs"]) > 20:
        print(f"  … et {len(lancee['erreurs']) - 20} autre(s) erreur(s)")
    if args.attendre:
        return _suivre(args, lancee["id"])
    return 0


def suivre(args: argparse.Namespace) -> int:
    return _suivre(args, _identifiant(args))


#: The id the commands accept for the organisme's most recent campaign.
DERNIERE = "derniere"


def _identifiant(args: argparse.Namespace) -> str:
    """The campaign's id: as given, or the most recent campaign's for `derniere`."""
    if args.id != DERNIERE:
        return str(args.id)
    with _client(args) as http:
        reponse = http.get("/v1/campagnes", params={"limite": 1})
    campagnes = reponse.json().get("campagnes", []) if reponse.status_code == 200 else []
    if not campagnes:
        raise SystemExit("aucune campagne pour cet organisme")
    return str(campagnes[0]["id"])


def _evenements(reponse: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    nom, donnees = "message", ""
    for ligne in reponse.iter_lines():
        if ligne.startswith("event:"):
            nom = ligne.removeprefix("event:").strip()
        elif ligne.startswith("data:"):
            donnees += ligne.removeprefix("data:").strip()
        elif not ligne and donnees:
            yield nom, json.loads(donnees)
            nom, donnees = "message", ""


def _statuts(etat: dict[str, Any]) -> str:
    morceaux = []
    for dispositif, statuts in etat.get("par_dispositif", {}).items():
        morceaux.append(
            f"{dispositif} : {statuts['eligible']} éligible(s), {statuts['non_eligible']} non, "
            f"{statuts['a_verifier']} à vérifier"
        )
    if etat.get("en_echec"):
        morceaux.append(f"{etat['en_echec']} échec(s)")
    if etat.get("pause_motif"):
        morceaux.append(f"en pause : {etat['pause_motif']}")
    return " · ".join(morceaux)


def _suivre(args: argparse.Namespace, campagne_id: str) -> int:
    console = Console(stderr=True)
    colonnes = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[debit]}"),
        TimeRemainingColumn(),
    )
    dernier: dict[str, Any] = {}
    with (
        _client(args, timeout=None) as http,
        Progress(*colonnes, TextColumn("{task.fields[statuts]}"), console=console) as barre,
    ):
        tache = barre.add_task("campagne", total=None, debit="", statuts="")
        while True:
            with http.stream("GET", f"/v1/campagnes/{campagne_id}/evenements") as reponse:
                if reponse.status_code != 200:
                    reponse.read()
                    return _probleme(reponse)
                for nom, etat in _evenements(reponse):
                    if nom == "fin":
                        break
                    dernier = etat
                    faites = etat["faites"] + etat["en_echec"] + etat["annulees"]
                    debit = etat.get("debit_par_seconde")
                    barre.update(
                        tache,
                        total=etat["total"],
                        completed=faites,
                        debit=f"{debit:.1f}/s" if debit else "",
                        statuts=_statuts(etat),
                    )
                else:
                    continue  # the server closed an hour-long stream: follow on
                break
    if dernier:
        print(
            f"campagne {campagne_id} : {dernier['etat']}, {dernier['faites']} décidé(s), "
            f"{dernier['en_echec']} échec(s), {dernier['annulees']} annulé(s)"
        )
        print(_statuts(dernier))
    return 0


def resultats(args: argparse.Namespace) -> int:
    parametres = {"format": args.format, "tableur": "true" if args.tableur else "false"}
    with (
        _client(args, timeout=None) as http,
        http.stream("GET", f"/v1/campagnes/{_identifiant(args)}/resultats", params=parametres) as reponse,
    ):
        if reponse.status_code != 200:
            reponse.read()
            return _probleme(reponse)
        sortie = Path(args.sortie) if args.sortie else None
        if sortie is None:
            for morceau in reponse.iter_bytes():
                sys.stdout.buffer.write(morceau)
            return 0
        with sortie.open("wb") as fichier:
            for morceau in reponse.iter_bytes():
                fichier.write(morceau)
    print(f"résultats écrits dans {sortie}")
    return 0


def _liste(brute: str | None) -> list[str]:
    return [d.strip() for d in (brute or "").split(",") if d.strip()]


def ajouter_commandes(commandes: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campagne = commandes.add_parser("campagne", help="campagnes : tout un fichier de demandeurs")
    campagne.add_argument(
        "--url",
        default=os.environ.get("EG_URL", "http://127.0.0.1:8000"),
        help="adresse de la passerelle (EG_URL)",
    )
    campagne.add_argument(
        "--cle",
        default=os.environ.get("EG_API_KEY", CLE_DEMO),
        help="clé d'API du client (EG_API_KEY ; clé de démonstration par défaut)",
    )
    actions = campagne.add_subparsers(dest="action", required=True)
    lancement = actions.add_parser("lancer", help="déposer un fichier CSV ou JSON Lines")
    lancement.add_argument("fichier", help="fichier .csv, ou .jsonl (JSON Lines)")
    lancement.add_argument("--dispositifs", help="aides à évaluer, séparées par des virgules (toutes sinon)")
    lancement.add_argument("--date-reference", help="date de référence AAAA-MM-JJ (aujourd'hui sinon)")
    lancement.add_argument("--attendre", action="store_true", help="suivre la campagne jusqu'à sa fin")
    lancement.set_defaults(handler=lancer)
    suivi = actions.add_parser("suivre", help="barre de progression d'une campagne, jusqu'à sa fin")
    suivi.add_argument("id", help="identifiant de la campagne, ou « derniere »")
    suivi.set_defaults(handler=suivre)
    export = actions.add_parser("resultats", help="résultats d'une campagne (CSV ou JSON Lines)")
    export.add_argument("id", help="identifiant de la campagne, ou « derniere »")
    export.add_argument("-o", "--sortie", help="fichier de sortie (sortie standard sinon)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="csv (défaut) ou jsonl")
    export.add_argument("--tableur", action="store_true", help="CSV `;` avec BOM pour Excel/LibreOffice")
    export.set_defaults(handler=resultats)


def worker(args: argparse.Namespace) -> int:
    """Decide campaign lines from the Redis stream until SIGTERM/SIGINT (then finish the lots
    under way: a lot left unfinished is taken over by another worker)."""
    settings = get_settings()
    if not settings.redis_url:
        print(
            "erreur : `eg worker` lit la file des campagnes dans Redis (REDIS_URL) ; sans Redis, la "
            "passerelle décide elle-même ses campagnes.",
            file=sys.stderr,
        )
        return 2
    configure_logging(level=settings.log_level, json=settings.log_json)
    if settings.campagne_worker_nice:
        # The counter first, for the CPU too: a gateway on the same machine is served before us.
        os.nice(settings.campagne_worker_nice)
    return asyncio.run(_travailler(args.lots))


async def _travailler(lots: int) -> int:
    arret = asyncio.Event()
    boucle = asyncio.get_running_loop()
    for signal_arret in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            boucle.add_signal_handler(signal_arret, arret.set)
    async with AsyncExitStack() as stack:
        services = await open_services(get_settings(), stack)
        assert services.campagnes is not None  # noqa: S101 - built by the container
        file = services.campagnes.file
        while not await file.demarrer():
            if arret.is_set():
                return 0
            await asyncio.sleep(2)
        if await file.flux_vide():
            relances = await services.campagnes.relancer_inachevees()
            if relances:
                logger.info("campagnes.requeued", lots=relances)
        file.broker.is_worker_process = True
        receiver = Receiver(
            file.broker,
            max_async_tasks=lots,
            max_prefetch=0,
            propagate_exceptions=False,
            run_startup=False,
            wait_tasks_timeout=60,
        )
        logger.info("campagnes.worker_started", lots=lots)
        await receiver.listen(arret)
    logger.info("campagnes.worker_stopped")
    return 0


def ajouter_worker(commandes: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commande = commandes.add_parser(
        "worker", help="décider les lignes des campagnes (file Redis) ; autant de processus que voulu"
    )
    commande.add_argument(
        "--lots", type=int, default=2, help="lots de lignes traités en même temps (défaut : 2)"
    )
    commande.set_defaults(handler=worker)
