"""La ligne de commande de la passerelle (`.venv/bin/eg`, ou `python -m app`).

eg serve                              # la passerelle (bac à sable par défaut) sur HOST:PORT
eg reglements verifier [CHEMIN]       # valider un règlement (ou un dossier) et jouer ses cas de test
eg reglement impact --proposition F --du J --au J   # rejouer les décisions passées sous un
                                      # règlement proposé (--html, --pdf, --csv : le bilan en fichier)
eg db upgrade                         # appliquer les migrations du journal (DATABASE_URL seul)
eg organisme create|list|reload       # les organismes (CCAS) servis ; retirer-demo avant la production
eg organisme coordonnees ID --adresse … # ce que ses lettres et notices impriment (adresse, DPO…)
eg client create|list|revoke          # leurs logiciels métier, avec une clé affichée une seule fois
eg key rotate --client ID             # une nouvelle clé ; l'ancienne vit le temps du chevauchement
eg key revoke --client ID --prefixe P # révoquer une seule clé
eg journal purge [--dry-run] [--mois N [--force]]   # supprimer ce qui dépasse la durée de conservation
                                      # (code 75 tant qu'une autre purge tourne)
eg journal rechiffrer                 # rechiffrer le journal sous la première clé (après une rotation)

Les secrets des fournisseurs sont lus dans l'environnement, jamais sur la ligne de commande
(historique du shell, ps) : ORGANISME_API_PARTICULIER_TOKEN et ORGANISME_IMPOT_CLIENT_SECRET.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import structlog
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app import cli_campagnes, cli_impact
from app.config import (
    DEFAULT_DEMO_API_KEY,
    ReglagesBase,
    Settings,
    get_settings,
    problemes_de_configuration,
    resume_de_demarrage,
)
from app.container import trousseau_journal
from app.db.engine import DATABASE_ERRORS, create_engine_from_url
from app.db.migrate import upgrade_database
from app.logging import configure_logging
from app.main import create_app
from app.metrics import preparer_multiprocessus
from app.rules.testcases import verifier_reglements
from app.services.journal import Journal
from app.services.journal.lecture import LOT_PURGE, RapportPurge, mois_avant, purger
from app.services.journal.lock import PurgeEnCours
from app.services.organismes import ChiffrementSecrets
from app.services.organismes.administration import (
    AdministrationOrganismes,
    AdministrationRefusee,
    NouvelOrganisme,
    ResumeCle,
)
from app.serving import http_limits, serve_workers

logger = structlog.get_logger(__name__)


def _serve(args: argparse.Namespace) -> int:
    if args.workers > 1:
        # Read by every worker's settings (and checked here first): quotas without Redis.
        os.environ["GATEWAY_WORKERS"] = str(args.workers)
        get_settings.cache_clear()
    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    _verifier_base(settings.database_url)
    configure_logging(level=settings.log_level, json=settings.log_json)
    metriques = preparer_multiprocessus()
    logger.info(
        "gateway.starting",
        ecoute=f"http://{host}:{port}",
        workers=args.workers,
        metriques="agrégées entre workers" if metriques else "par processus",
        **resume_de_demarrage(settings),
    )
    # Several processes need an import string: each worker builds its own app.
    app = "app.main:create_app" if args.workers > 1 else create_app(settings)
    serve_workers(
        app,
        factory=args.workers > 1,
        host=host,
        port=port,
        workers=args.workers,
        limits=http_limits(settings),
    )
    return 0


def _verifier_reglements(args: argparse.Namespace) -> int:
    dossier = Path(args.dossier) if args.dossier else get_settings().reglements_dir
    return verifier_reglements(dossier)


def _reglement_impact(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        return await cli_impact.executer(settings, engine, args)

    return _with_database(action)


def _db_upgrade(_args: argparse.Namespace) -> int:
    # Only DATABASE_URL: a migration needs no provider, key or mode setting.
    url = ReglagesBase().database_url
    _verifier_base(url)
    try:
        upgrade_database(url)
    except DATABASE_ERRORS as e:
        raise BaseInjoignable(url, e) from e
    print("Base du journal à jour.")
    return 0


#: Exit codes (README, « Codes de sortie »): 2 invalid configuration or refused operation,
#: 4 journal database unreachable, 75 another purge running.
CODE_CONFIGURATION_INVALIDE = 2
CODE_BASE_INJOIGNABLE = 4


class BaseInjoignable(Exception):
    """The journal database cannot be reached: one line for the operator, no traceback."""

    def __init__(self, url: str, erreur: BaseException) -> None:
        cause = (str(erreur).strip().splitlines() or [type(erreur).__name__])[0][:200]
        super().__init__(
            f"base du journal injoignable ({make_url(url).render_as_string(hide_password=True)}) : "
            f"{type(erreur).__name__} : {cause}"
        )


#: How long the start-up check waits for the journal database before giving up.
ATTENTE_BASE_SECONDES = 10.0


def _verifier_base(url: str) -> None:
    """Connect once (bounded): an unreachable journal stops the command with one line."""

    async def essayer() -> None:
        engine = create_engine_from_url(url)
        try:
            async with asyncio.timeout(ATTENTE_BASE_SECONDES), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(essayer())
    except DATABASE_ERRORS as e:  # TimeoutError included
        raise BaseInjoignable(url, e) from e


def _with_database(action: Callable[[Settings, AsyncEngine], Awaitable[int]]) -> int:
    """Run an async administrative action on the configured database (migrated first if allowed)."""
    settings = get_settings()
    _verifier_base(settings.database_url)
    if settings.database_auto_migrate:
        upgrade_database(settings.database_url)

    async def run() -> int:
        engine = create_engine_from_url(settings.database_url)
        try:
            return await action(settings, engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except AdministrationRefusee as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2


def _admin(settings: Settings, engine: AsyncEngine) -> AdministrationOrganismes:
    return AdministrationOrganismes(
        engine, ChiffrementSecrets(settings.gateway_secret_key), reglements_dir=settings.reglements_dir
    )


def _secret_env(name: str) -> SecretStr | None:
    value = os.environ.get(name, "").strip()
    return SecretStr(value) if value else None


def _liste(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


_DUREE = re.compile(r"^(\d+)([smhd]?)\Z")


def duree(raw: str) -> timedelta:
    """`90s`, `30m`, `24h`, `7d` (or seconds without a unit) — for argparse."""
    match = _DUREE.match(raw.strip())
    if not match:
        raise argparse.ArgumentTypeError("durée attendue : 30m, 24h, 7d…")
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _organisme_create(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        habilitation = _liste(args.habilitation)
        avertissements = await _admin(settings, engine).creer_organisme(
            NouvelOrganisme(
                id=args.id,
                nom=args.nom,
                siret=args.siret,
                reglement=args.reglement,
                api_particulier_token=_secret_env("ORGANISME_API_PARTICULIER_TOKEN"),
                impot_client_id=args.impot_client_id,
                impot_client_secret=_secret_env("ORGANISME_IMPOT_CLIENT_SECRET"),
                scopes_habilitation=frozenset(habilitation) if args.habilitation is not None else None,
            ),
            remplacer=args.remplacer,
            clients="garder" if args.garder_clients else "revoquer" if args.revoquer_clients else None,
            forcer=args.force,
        )
        _avertir(avertissements)
        print(f"Organisme « {args.id} » {'modifié' if args.remplacer else 'créé'}.")
        return 0

    return _with_database(action)


def _organisme_list(_args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        now = datetime.now(UTC)
        for o in await _admin(settings, engine).lister():
            habilitation = (
                ", ".join(o.scopes_habilitation) if o.scopes_habilitation is not None else "non restreinte"
            )
            print(f"{o.id}  {o.nom}  SIRET {o.siret}  règlement {o.reglement}  v{o.version}")
            print(f"  habilitation : {habilitation}")
            for c in o.clients:
                etat = f"révoqué le {c.revoque_le:%Y-%m-%d %H:%M}" if c.revoque_le else "actif"
                print(f"  client {c.id} ({etat}) : {', '.join(c.scopes)}")
                for k in c.cles:
                    print(f"    clé {k.prefixe}… créée le {k.cree_le:%Y-%m-%d %H:%M} : {_statut_cle(k, now)}")
        return 0

    return _with_database(action)


def _client_list(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        now = datetime.now(UTC)
        organismes = await _admin(settings, engine).lister()
        for o in organismes:
            if args.organisme is not None and o.id != args.organisme:
                continue
            for c in o.clients:
                etat = f"révoqué le {c.revoque_le:%Y-%m-%d %H:%M}" if c.revoque_le else "actif"
                print(f"{c.id}  organisme {o.id}  ({etat})  droits : {', '.join(c.scopes)}")
                for k in c.cles:
                    print(f"  clé {k.prefixe}… créée le {k.cree_le:%Y-%m-%d %H:%M} : {_statut_cle(k, now)}")
        return 0

    return _with_database(action)


def _statut_cle(k: ResumeCle, now: datetime) -> str:
    if k.revoquee_le is not None:
        return f"révoquée le {k.revoquee_le:%Y-%m-%d %H:%M}"
    if k.expire_le is not None:
        verbe = "expirée" if k.expire_le <= now else "expire"
        return f"{verbe} le {k.expire_le:%Y-%m-%d %H:%M} UTC"
    return "valide"


def _key_revoke(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        nombre = await _admin(settings, engine).revoquer_cle(args.client, args.prefixe)
        print(f"Client « {args.client} » : {nombre} clé(s) « {args.prefixe}… » révoquée(s).")
        return 0

    return _with_database(action)


def _organisme_reload(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        version, avertissements = await _admin(settings, engine).recharger_organisme(
            args.id, forcer=args.force
        )
        _avertir(avertissements)
        print(f"Organisme « {args.id} » : version {version}, rechargée par chaque processus sous peu.")
        return 0

    return _with_database(action)


#: `eg organisme coordonnees` options: field → help (every field of `Coordonnees`).
_AIDE_COORDONNEES = {
    "adresse": "adresse postale de l'organisme, lignes séparées par \\n (7 lignes, 400 caractères "
    "au plus) ; en-tête des lettres",
    "service": "service qui instruit les demandes (ex. « Service des aides facultatives »)",
    "telephone": "téléphone du service, imprimé sur les lettres",
    "courriel": "adresse électronique du service, imprimée sur les lettres",
    "site_web": "site où l'organisme publie ses règles (article L. 312-1-3 du CRPA)",
    "dpo": "contact du délégué à la protection des données (adresse postale ou électronique)",
    "signataire": "qui signe les lettres (ex. « Pour le président et par délégation, la directrice »)",
    "duree_conservation": "durée de conservation des données, en une phrase (information RGPD)",
    "recours": "voies et délais de recours, en français (défaut : recours gracieux et tribunal "
    "administratif sous deux mois)",
}


def _organisme_coordonnees(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        changements = {nom: getattr(args, nom) for nom in _AIDE_COORDONNEES}
        coordonnees = await _admin(settings, engine).definir_coordonnees(args.id, changements)
        print(f"Organisme « {args.id} » : coordonnées enregistrées, reprises par chaque processus sous peu.")
        for nom, valeur in coordonnees.vers_dict().items():
            print(f"  {nom} : {valeur.replace(chr(10), ' / ')}")
        return 0

    return _with_database(action)


def _add_organisme_coordonnees(
    organisme_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    coordonnees = organisme_commands.add_parser(
        "coordonnees",
        help="adresse, service, DPO, signataire, conservation, recours (lettres et notices)",
        description='Chaque option absente garde la valeur enregistrée ; une valeur vide ("") l\'efface.',
    )
    coordonnees.add_argument("id", help="identifiant de l'organisme")
    for nom, aide in _AIDE_COORDONNEES.items():
        coordonnees.add_argument(f"--{nom.replace('_', '-')}", dest=nom, default=None, help=aide)
    coordonnees.set_defaults(handler=_organisme_coordonnees)


def _avertir(avertissements: list[str]) -> None:
    for avertissement in avertissements:
        print(f"attention : {avertissement}", file=sys.stderr)


def _print_key(cle: str) -> None:
    print("Clé d'API (affichée une seule fois, seule son empreinte est conservée) :")
    print(cle)


def _client_create(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        cle = await _admin(settings, engine).creer_client(
            args.organisme, args.id, _liste(args.scopes), nom=args.nom
        )
        print(f"Client « {args.id} » créé pour l'organisme « {args.organisme} ».")
        _print_key(cle)
        return 0

    return _with_database(action)


def _client_revoke(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        cles = await _admin(settings, engine).revoquer_client(args.id)
        print(f"Client « {args.id} » révoqué ({cles} clé(s) encore valide(s) révoquée(s)).")
        return 0

    return _with_database(action)


def _key_rotate(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        cle, fin = await _admin(settings, engine).tourner_cle(args.client, args.chevauchement)
        print(
            f"Nouvelle clé pour « {args.client} » ; les précédentes cessent le {fin:%Y-%m-%d %H:%M:%S} UTC."
        )
        _print_key(cle)
        return 0

    return _with_database(action)


def rapport_purge(rapport: RapportPurge) -> str:
    verbe = "à supprimer (simulation, rien n'a été supprimé)" if rapport.simulation else "supprimées"
    lignes = [f"Enregistrements antérieurs au {rapport.avant:%Y-%m-%d %H:%M} UTC {verbe} :"]
    detail = ", ".join(f"{t} {n}" for t, n in sorted(rapport.consultations_par_type.items()))
    lignes.append(f"  consultations : {rapport.consultations}" + (f" ({detail})" if detail else ""))
    lignes.append(f"  décisions : {rapport.decisions}")
    if rapport.plus_ancienne is not None and rapport.plus_recente is not None:
        lignes.append(f"  du {rapport.plus_ancienne:%Y-%m-%d} au {rapport.plus_recente:%Y-%m-%d}")
    return "\n".join(lignes)


#: Exit code of a purge refused because another one holds the lock (EX_TEMPFAIL: try again later).
CODE_PURGE_EN_COURS = 75


def mois_de_conservation(raw: str) -> int:
    """A retention in whole months, at least 1 — for argparse (`-1`, `0`, `3.5` are refused)."""
    try:
        mois = int(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"« {raw} » : un nombre entier de mois est attendu (1 ou plus)"
        ) from None
    if mois < 1:
        raise argparse.ArgumentTypeError(f"« {raw} » : la durée de conservation est d'au moins 1 mois")
    return mois


class BarreProgression:
    """`[#####.....] 5000/12000 consultations` on stderr, rewritten in place, for long purges."""

    LARGEUR = 30

    def __init__(self, flux: TextIO) -> None:
        self._flux = flux
        self._affichee = False

    def __call__(self, faites: int, total: int) -> None:
        if total <= LOT_PURGE and not self._affichee:  # one batch: over before a bar is useful
            return
        pleins = self.LARGEUR * faites // max(total, 1)
        barre = "#" * pleins + "." * (self.LARGEUR - pleins)
        self._flux.write(f"\r[{barre}] {faites}/{total} consultations")
        self._affichee = True
        if faites >= total:
            self._flux.write("\n")
        self._flux.flush()


def _journal_purge(args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        minimum = settings.journal_retention_months
        mois = minimum if args.mois is None else args.mois
        if mois < minimum and not args.force:
            print(
                f"erreur : --mois {mois} est en dessous de la durée de conservation configurée "
                f"(JOURNAL_RETENTION_MONTHS={minimum}) ; --force pour purger quand même. "
                "Rien n'a été supprimé.",
                file=sys.stderr,
            )
            return 2
        try:
            rapport = await purger(
                engine,
                mois_avant(datetime.now(UTC), mois),
                simulation=args.dry_run,
                progression=BarreProgression(sys.stderr),
            )
        except PurgeEnCours as e:
            print(f"erreur : {e}", file=sys.stderr)
            return CODE_PURGE_EN_COURS
        print(rapport_purge(rapport))
        return 0

    return _with_database(action)


def _organisme_retirer_demo(_args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        cles = [SecretStr(DEFAULT_DEMO_API_KEY), settings.gateway_demo_api_key]
        retires = await _admin(settings, engine).retirer_demo(cles)
        print(f"Démonstration retirée : {retires} client(s) et clé(s) révoqué(s).")
        return 0

    return _with_database(action)


def _journal_rechiffrer(_args: argparse.Namespace) -> int:
    async def action(settings: Settings, engine: AsyncEngine) -> int:
        journal = Journal(engine, trousseau=trousseau_journal(settings))
        rapport = await journal.rechiffrer()
        print(
            f"Décisions rechiffrées sous la clé « {trousseau_journal(settings).courante} » : "
            f"{rapport.rechiffrees} ; illisibles (clé absente du trousseau) : {rapport.illisibles}."
        )
        return 1 if rapport.illisibles else 0

    return _with_database(action)


def _add_organisme_create(organisme_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = organisme_commands.add_parser(
        "create",
        help="créer (ou --remplacer) un organisme",
        description="Secrets lus dans l'environnement : ORGANISME_API_PARTICULIER_TOKEN, "
        "ORGANISME_IMPOT_CLIENT_SECRET.",
    )
    create.add_argument("--id", required=True, help="identifiant de l'organisme (ex. ccas-rennes)")
    create.add_argument("--nom", required=True, help="nom affiché (ex. « CCAS de Rennes »)")
    create.add_argument("--siret", required=True, help="SIRET de l'organisme (14 chiffres)")
    create.add_argument("--reglement", required=True, help="fichier, absolu ou relatif à REGLEMENTS_DIR")
    create.add_argument(
        "--impot-client-id", default=None, help="identifiant client API Impôt particulier (s'il y en a un)"
    )
    create.add_argument(
        "--habilitation",
        default=None,
        help="scopes accordés, séparés par des virgules (absent : non restreint)",
    )
    create.add_argument("--remplacer", action="store_true", help="remplacer un organisme existant")
    clients = create.add_mutually_exclusive_group()
    clients.add_argument(
        "--garder-clients", action="store_true", help="avec --remplacer : les clients gardent clés et droits"
    )
    clients.add_argument(
        "--revoquer-clients",
        action="store_true",
        help="avec --remplacer : révoquer les clients et leurs clés",
    )
    create.add_argument(
        "--force",
        action="store_true",
        help="accepter une habilitation qui ne couvre pas le règlement (avertissement)",
    )
    create.set_defaults(handler=_organisme_create)


def _add_admin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    organisme = commands.add_parser("organisme", help="organismes (CCAS) servis par la passerelle")
    organisme_commands = organisme.add_subparsers(dest="action", required=True)
    _add_organisme_create(organisme_commands)
    organisme_commands.add_parser(
        "retirer-demo",
        help="révoquer les clients et clés de démonstration du bac à sable (avant la production)",
    ).set_defaults(handler=_organisme_retirer_demo)
    organisme_commands.add_parser("list", help="organismes, clients et clés").set_defaults(
        handler=_organisme_list
    )
    reload = organisme_commands.add_parser("reload", help="recharger le règlement dans chaque processus")
    reload.add_argument("id", help="identifiant de l'organisme")
    reload.add_argument(
        "--force",
        action="store_true",
        help="recharger même si l'habilitation ne couvre pas le règlement (avertissement)",
    )
    reload.set_defaults(handler=_organisme_reload)
    _add_organisme_coordonnees(organisme_commands)

    client = commands.add_parser("client", help="logiciels métier des organismes")
    client_commands = client.add_subparsers(dest="action", required=True)
    client_create = client_commands.add_parser("create", help="créer un client et afficher sa clé")
    client_create.add_argument("--organisme", required=True, help="identifiant de l'organisme servi")
    client_create.add_argument("--id", required=True, help="identifiant du client (ex. logiciel-millesime)")
    client_create.add_argument(
        "--scopes", required=True, help="eligibilite,donnees,simulations,journal:lecture,campagnes,admin"
    )
    client_create.add_argument("--nom", default=None, help="nom affiché du logiciel")
    client_create.set_defaults(handler=_client_create)
    client_list = client_commands.add_parser("list", help="clients, leurs droits et leurs clés")
    client_list.add_argument("--organisme", default=None, help="seulement les clients de cet organisme")
    client_list.set_defaults(handler=_client_list)
    revoke = client_commands.add_parser("revoke", help="révoquer un client et toutes ses clés")
    revoke.add_argument("id", help="identifiant du client")
    revoke.set_defaults(handler=_client_revoke)

    key = commands.add_parser("key", help="clés d'API")
    key_commands = key.add_subparsers(dest="action", required=True)
    rotate = key_commands.add_parser(
        "rotate", help="nouvelle clé ; les anciennes expirent après le chevauchement"
    )
    rotate.add_argument("--client", required=True, help="identifiant du client")
    rotate.add_argument(
        "--chevauchement", type=duree, default=timedelta(hours=24), help="ex. 24h (défaut), 7d, 0"
    )
    rotate.set_defaults(handler=_key_rotate)

    key_revoke = key_commands.add_parser(
        "revoke", help="révoquer une seule clé (le client et ses autres clés restent valides)"
    )
    key_revoke.add_argument("--client", required=True, help="identifiant du client")
    key_revoke.add_argument(
        "--prefixe", required=True, help="début de la clé, tel que « client list » l'affiche"
    )
    key_revoke.set_defaults(handler=_key_revoke)

    journal = commands.add_parser("journal", help="journal d'audit")
    journal_commands = journal.add_subparsers(dest="action", required=True)
    purge = journal_commands.add_parser("purge", help="supprimer ce qui dépasse la durée de conservation")
    purge.add_argument("--dry-run", action="store_true", help="compter sans supprimer")
    purge.add_argument(
        "--mois",
        type=mois_de_conservation,
        default=None,
        help="durée de conservation en mois entiers, 1 ou plus (défaut : JOURNAL_RETENTION_MONTHS)",
    )
    purge.add_argument(
        "--force",
        action="store_true",
        help="accepter une durée inférieure à JOURNAL_RETENTION_MONTHS",
    )
    purge.set_defaults(handler=_journal_purge)
    journal_commands.add_parser(
        "rechiffrer",
        help="chiffrer chaque décision sous la première clé de JOURNAL_ENCRYPTION_KEYS (après une rotation)",
    ).set_defaults(handler=_journal_rechiffrer)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="lancer la passerelle")
    serve.add_argument("--host", default=None, help="adresse d'écoute (défaut : HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port d'écoute (défaut : PORT, 8000)")
    serve.add_argument("--workers", type=int, default=1, help="nombre de processus (défaut : 1)")
    serve.set_defaults(handler=_serve)

    reglements = commands.add_parser("reglements", aliases=["reglement"], help="règlements des aides")
    reglements_commands = reglements.add_subparsers(dest="action", required=True)
    verifier = reglements_commands.add_parser("verifier", help="valider et exécuter les cas de test")
    verifier.add_argument(
        "dossier",
        metavar="CHEMIN",
        nargs="?",
        default=None,
        help="un fichier de règlement ou un dossier (défaut : REGLEMENTS_DIR)",
    )
    verifier.set_defaults(handler=_verifier_reglements)
    cli_impact.ajouter_commande(reglements_commands).set_defaults(handler=_reglement_impact)

    db = commands.add_parser("db", help="base du journal")
    db_commands = db.add_subparsers(dest="action", required=True)
    db_commands.add_parser("upgrade", help="appliquer les migrations").set_defaults(handler=_db_upgrade)
    _add_admin_commands(commands)
    cli_campagnes.ajouter_worker(commands)
    cli_campagnes.ajouter_commandes(commands)

    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except ValidationError as e:
        # One French line per invalid setting, no traceback (issue 12).
        for ligne in problemes_de_configuration(e):
            print(f"configuration invalide : {ligne}", file=sys.stderr)
        return CODE_CONFIGURATION_INVALIDE
    except BaseInjoignable as e:
        print(f"erreur : {e}", file=sys.stderr)
        return CODE_BASE_INJOIGNABLE
    return result


if __name__ == "__main__":
    sys.exit(main())
