"""The command line: serve the gateway, check règlements, migrate the journal database.

python -m app serve                 # the gateway (sandbox by default) on HOST:PORT
python -m app reglements verifier   # validate every règlement and run its test cases
python -m app db upgrade            # apply the journal's Alembic migrations
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from app.config import get_settings
from app.db.migrate import upgrade_database
from app.main import create_app
from app.rules.testcases import verifier_reglements


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    if args.workers > 1:
        # Several processes need an import string: each worker builds its own app.
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            access_log=False,
            proxy_headers=True,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, access_log=False, proxy_headers=True)
    return 0


def _verifier_reglements(args: argparse.Namespace) -> int:
    dossier = Path(args.dossier) if args.dossier else get_settings().reglements_dir
    return verifier_reglements(dossier)


def _db_upgrade(_args: argparse.Namespace) -> int:
    upgrade_database(get_settings().database_url)
    print("Base du journal à jour.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="eligibility-gateway", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="lancer la passerelle")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    reglements = commands.add_parser("reglements", help="règlements des aides")
    reglements_commands = reglements.add_subparsers(dest="action", required=True)
    verifier = reglements_commands.add_parser("verifier", help="valider et exécuter les cas de test")
    verifier.add_argument("dossier", nargs="?", default=None)
    verifier.set_defaults(handler=_verifier_reglements)

    db = commands.add_parser("db", help="base du journal")
    db_commands = db.add_subparsers(dest="action", required=True)
    db_commands.add_parser("upgrade", help="appliquer les migrations").set_defaults(handler=_db_upgrade)

    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
