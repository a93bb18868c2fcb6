"""`eg reglement impact`: a proposed règlement replayed on an organisme's past decisions, from the
command line — a progress bar, a French summary table, and the summary as HTML, PDF or the changed
decisions as CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.container import service_impact, trousseau_journal
from app.errors import InvalidInput
from app.routers.impact import lignes_csv
from app.schemas.formats import BOM
from app.services.impact import Bilan, bilan_json, depuis_yaml
from app.services.impact.bilan import STATUTS
from app.services.impact.rapport import html, pdf
from app.services.organismes import AnnuaireOrganismes, ChiffrementSecrets, Organisme

CODE_REFUS = 2
_STATUTS = {"eligible": "éligible", "non_eligible": "non éligible", "a_verifier": "à vérifier"}


def jour(texte: str) -> date:
    """AAAA-MM-JJ, for argparse."""
    try:
        return date.fromisoformat(texte)
    except ValueError:
        raise argparse.ArgumentTypeError("date attendue : AAAA-MM-JJ") from None


def ajouter_commande(
    commandes: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    impact = commandes.add_parser(
        "impact", help="rejouer les décisions passées sous un règlement proposé (avant le vote)"
    )
    impact.add_argument("--proposition", required=True, type=Path, help="le règlement proposé (fichier YAML)")
    impact.add_argument(
        "--du", required=True, type=jour, help="premier jour des décisions rejouées (AAAA-MM-JJ)"
    )
    impact.add_argument("--au", required=True, type=jour, help="dernier jour inclus (AAAA-MM-JJ)")
    impact.add_argument(
        "--organisme", default=None, help="identifiant de l'organisme (défaut : le seul de la base)"
    )
    impact.add_argument("--dispositifs", default=None, help="dispositifs rejoués, séparés par des virgules")
    impact.add_argument(
        "--date-effet",
        type=jour,
        default=None,
        help="date d'effet : les valeurs en vigueur ce jour-là s'appliquent aux décisions antérieures",
    )
    impact.add_argument("--html", type=Path, default=None, help="écrire le bilan en HTML dans ce fichier")
    impact.add_argument("--pdf", type=Path, default=None, help="écrire le bilan en PDF dans ce fichier")
    impact.add_argument(
        "--csv", type=Path, default=None, help="écrire les résultats changés (un par ligne) dans ce fichier"
    )
    impact.add_argument(
        "--tableur", action="store_true", help="CSV pour tableur français (séparateur ; et BOM UTF-8)"
    )
    return impact


async def executer(settings: Settings, engine: AsyncEngine, args: argparse.Namespace) -> int:
    """The command itself, on the configured journal database."""
    erreur = Console(stderr=True)
    trousseau = trousseau_journal(settings)
    annuaire = AnnuaireOrganismes(
        engine,
        ChiffrementSecrets(settings.gateway_secret_key),
        reglements_dir=settings.reglements_dir,
        archives=trousseau,
    )
    await annuaire.charger()
    organisme = _organisme(annuaire, args.organisme)
    if isinstance(organisme, str):
        erreur.print(f"erreur : {organisme}", markup=False)
        return CODE_REFUS
    try:
        texte = args.proposition.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        erreur.print(f"erreur : {args.proposition} illisible ({type(e).__name__})", markup=False)
        return CODE_REFUS
    service = service_impact(settings, engine, trousseau)
    dispositifs = [d.strip() for d in args.dispositifs.split(",") if d.strip()] if args.dispositifs else None
    try:
        proposition = depuis_yaml(texte, args.date_effet)
        rejeu = await service.preparer(organisme, proposition, args.du, args.au, dispositifs)
    except InvalidInput as e:
        for champ in e.errors:
            erreur.print(f"erreur : {champ.champ} : {champ.message}", markup=False)
        if not e.errors:
            erreur.print(f"erreur : {e.detail}", markup=False)
        return CODE_REFUS

    with Progress(
        TextColumn("Décisions rejouées"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=erreur,
        transient=True,
    ) as barre:
        tache = barre.add_task("rejeu", total=rejeu.decisions)

        def progression(faites: int, total: int) -> None:
            barre.update(tache, completed=faites, total=total)

        if args.csv is not None:
            bilan = Bilan(args.du, args.au, {}, args.date_effet)
            separateur = ";" if args.tableur else ","
            with args.csv.open("w", encoding="utf-8", newline="") as sortie:
                sortie.write(
                    (BOM if args.tableur else "") + lignes_csv((), entete=True, separateur=separateur)
                )
                async for lignes in service.changements(rejeu, progression, bilan):
                    sortie.write(lignes_csv(lignes, entete=False, separateur=separateur))
            reference = proposition.reference
            bilan.proposition = {
                "id": reference.id,
                "version": reference.version,
                "empreinte": reference.empreinte,
            }
        else:
            bilan = await service.mesurer(rejeu, progression)
    resume = bilan_json(bilan)
    afficher(resume, organisme.nom, Console(file=sys.stdout, width=160))
    if args.html is not None:
        args.html.write_text(html(resume, organisme.nom), encoding="utf-8")
    if args.pdf is not None:
        args.pdf.write_bytes(pdf(resume, organisme.nom))
    return 0


def _organisme(annuaire: AnnuaireOrganismes, identifiant: str | None) -> Organisme | str:
    """The organisme named, or the only one; else the French reason why not."""
    if identifiant is not None:
        organisme = annuaire.organisme(identifiant)
        return organisme or f"organisme inconnu : « {identifiant} »"
    ids = annuaire.identifiants()
    if len(ids) == 1:
        organisme = annuaire.organisme(ids[0])
        assert organisme is not None  # noqa: S101 - listed by the same registry
        return organisme
    if not ids:
        return "aucun organisme dans la base (lancer la passerelle une fois, ou `eg organisme create`)"
    return "plusieurs organismes dans la base : choisir avec --organisme (" + ", ".join(sorted(ids)) + ")"


def afficher(bilan: dict[str, Any], organisme: str, console: Console) -> None:
    """The French summary table, then transitions, reasons counted apart and integrity alerts."""
    proposition = bilan["reglement_propose"]
    console.print(
        f"Impact du règlement proposé {proposition['id']} {proposition['version']} — {organisme}, "
        f"décisions du {bilan['du']} au {bilan['au']} : {bilan['decisions']} décision(s) rejouée(s).",
        markup=False,
    )
    table = Table(title="Bilan par dispositif", title_justify="left")
    table.add_column("Dispositif")
    table.add_column("Rejoués", justify="right")
    for statut in STATUTS:
        table.add_column(f"{_STATUTS[statut].capitalize()} avant → après", justify="right")
    for titre in (
        "Changements",
        "Montant avant (€)",
        "Montant après (€)",
        "Différence (€)",
        "Non évaluables",
    ):
        table.add_column(titre, justify="right")
    for ligne in [*bilan["dispositifs"], bilan["total"]]:
        table.add_row(
            "Total" if ligne is bilan["total"] else ligne["dispositif"],
            str(ligne["rejoues"]),
            *(f"{ligne['statuts_avant'][s]} → {ligne['statuts_apres'][s]}" for s in STATUTS),
            str(ligne["changements"]),
            ligne["montant_avant"],
            ligne["montant_apres"],
            ligne["difference"],
            str(ligne["non_evaluables"]),
            style="bold" if ligne is bilan["total"] else None,
        )
    console.print(table)
    for ligne in bilan["dispositifs"]:
        for t in ligne["transitions"]:
            console.print(
                f"{ligne['dispositif']} : {t['nombre']} résultat(s) de « {_STATUTS.get(t['de'], t['de'])} » "
                f"à « {_STATUTS.get(t['vers'], t['vers'])} »",
                markup=False,
            )
        for r in ligne["raisons_non_evaluables"]:
            console.print(
                f"{ligne['dispositif']} : {r['nombre']} non évaluable(s) : {r['raison']}", markup=False
            )
    if bilan["decisions_illisibles"]:
        console.print(f"{bilan['decisions_illisibles']} décision(s) illisible(s) (clé du journal absente).")
    if bilan["decisions_non_verifiables"]:
        console.print(
            f"{bilan['decisions_non_verifiables']} décision(s) sans règlement d'origine archivé : "
            "non vérifiées."
        )
    if bilan["alertes_integrite"]:
        console.print(
            f"ALERTE : {bilan['alertes_integrite']} résultat(s) journalisé(s) non reproduit(s) par leur "
            "propre règlement :",
            markup=False,
        )
        for a in bilan["alertes"]:
            console.print(
                f"  décision {a['decision_id']} ({a['dossier_ref']}) {a['dispositif']} : {a['raison']}",
                markup=False,
            )
    else:
        console.print("Intégrité : chaque décision rejouée redonne exactement son résultat journalisé.")
