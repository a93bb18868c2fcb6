"""The README's error and configuration tables, generated from the code (`make docs`).

The error table walks the exception tree (`app.errors.codes_stables`), the configuration table the
settings (`app.config.Settings`: every variable, its default, its bounds) with the role each one
plays, written here in French. `tests/test_documentation.py` fails when the README differs from what
this module generates, when a setting has no role, or when a role names no setting.

    python -m app.documentation          # rewrite the README's tables
    python -m app.documentation --check  # exit 1 if they are not up to date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import SecretStr

import app.main  # noqa: F401 - imports every module that defines an error class
from app.config import PROJECT_ROOT, Settings
from app.errors import codes_stables

README = PROJECT_ROOT / "README.md"
DEBUT = "<!-- {nom} : généré par `make docs` depuis le code, ne pas modifier à la main -->"
FIN = "<!-- fin {nom} -->"

#: When each error is answered, by code (the status and title come from the tree).
QUAND: dict[str, str] = {
    "requete-invalide": "requête refusée sans autre précision (code de repli des erreurs 4xx)",
    "requete-illisible": "corps qui n'est pas du JSON lisible (UTF-8 invalide, imbrication excessive), "
    "requête HTTP mal formée",
    "requete-trop-lente": "en-têtes ou corps qui n'arrivent pas à temps (voir « Robustesse »)",
    "corps-trop-volumineux": "corps au-delà de la limite de l'adresse (`limite_octets`), avant toute "
    "authentification",
    "en-tetes-trop-volumineux": "trop d'en-têtes, ou trop longs",
    "calcul-trop-long": "simulation au-delà de son budget de temps (`SIMULATION_TIMEOUT_SECONDS`, "
    "`IMPACT_TIMEOUT_SECONDS`)",
    "decision-illisible": "décision journalisée qu'aucune clé de `JOURNAL_ENCRYPTION_KEYS` n'ouvre "
    "(son existence, sa date et ses statuts restent)",
    "authentification-requise": "clé absente, inconnue, révoquée ou expirée (`WWW-Authenticate: Bearer`)",
    "acces-refuse": "droit du client ou habilitation de l'organisme manquant",
    "personne-introuvable": "`POST /v1/donnees` : le fournisseur ne connaît pas la personne",
    "ressource-introuvable": "adresse inconnue ; décision inconnue, ou d'un autre organisme",
    "document-non-conforme": "`GET /v1/decisions/{id}/verification` : le code imprimé ne correspond "
    "pas au contenu journalisé de la décision (document modifié ou d'une autre décision)",
    "format-non-disponible": "documents : `Accept` ne nomme ni `text/html` ni `application/pdf` "
    "(ou `format=` inconnu)",
    "methode-non-autorisee": "méthode non acceptée sur cette adresse (en-tête `Allow`)",
    "requete-idempotente-en-cours": "la requête de même `Idempotency-Key` tourne encore (`Retry-After`)",
    "type-de-contenu-non-supporte": "corps sans `Content-Type: application/json`",
    "cle-idempotence-reutilisee": "même `Idempotency-Key`, autre corps, dans les 24 heures",
    "donnees-invalides": "identité, date, code COG, numéro fiscal, dispositif, JSON mal formé "
    "(ligne et colonne)… : chaque champ fautif est nommé",
    "parametres-refuses": "le fournisseur refuse les paramètres envoyés",
    "trop-de-requetes": "limite de requêtes du client dépassée (`Retry-After`)",
    "configuration-invalide": "configuration de la passerelle invalide",
    "erreur-interne": "erreur inattendue, consignée (jamais une 500 nue)",
    "configuration-fournisseur": "jeton ou habilitation refusés par le fournisseur",
    "fournisseur-en-erreur": "réponse inattendue du fournisseur",
    "fournisseur-indisponible": "fournisseur en panne ou disjoncteur ouvert (`Retry-After` s'il est connu)",
    "journal-indisponible": "journal inaccessible : aucune décision sans trace",
    "file-campagnes-indisponible": "`POST /v1/campagnes` : la file des campagnes (Redis) ne répond pas ; "
    "rien n'est enregistré",
    "limiteur-indisponible": "limiteur partagé (Redis) injoignable : aucun appel non compté",
    "quota-fournisseur-atteint": "quota du fournisseur atteint (`Retry-After`)",
    "fournisseur-hors-delai": "le fournisseur n'a pas répondu à temps",
}

#: What each setting does, by field name.
ROLES: dict[str, str] = {
    "journal_sqlite_en_production": "la production refuse le journal SQLite (un fichier, un hôte) "
    "sauf si `true`",
    "gateway_workers": "processus servant la passerelle (posé par `eg serve --workers N`) ; sans Redis, "
    "la production en refuse plusieurs",
    "auth_unknown_keys_per_source_per_minute": "clés inconnues essayées par adresse source et par minute "
    "avant des 429 sans lecture de la base (0 : sans limite ; compte partagé par Redis entre processus "
    "et répliques, adresse hachée ; par processus sans Redis)",
    "journal_encryption_keys": "trousseau du journal (`id:clé-fernet,…`) : la première chiffre chaque "
    "décision, toutes déchiffrent ; absent : une clé dérivée de `GATEWAY_SECRET_KEY`",
    "allow_insecure_upstream_http": "accepter des fournisseurs en `http://` en production (test local "
    "contre un simulateur seulement)",
    "request_body_max_bytes": "taille maximale d'un corps, lue pendant la réception, avant "
    "l'authentification (413 au-delà)",
    "simulations_body_max_bytes": "taille maximale du corps de `POST /v1/simulations` (règlement proposé)",
    "http_body_idle_timeout_seconds": "délai d'arrivée du morceau suivant d'un corps (408 au-delà)",
    "http_header_timeout_seconds": "délai d'arrivée de la tête d'une requête (clients lents déconnectés)",
    "http_max_headers": "nombre maximal d'en-têtes (431 au-delà)",
    "http_max_header_bytes": "taille maximale de la tête d'une requête (431 au-delà)",
    "http_keep_alive_seconds": "durée d'une connexion inactive gardée ouverte",
    "simulation_timeout_seconds": "budget de temps d'une simulation (503 `calcul-trop-long` au-delà)",
    "impact_decisions_max": "décisions rejouées au plus par `POST /v1/simulations/impact` (422 au-delà : "
    "une période plus courte)",
    "impact_periode_jours_max": "durée maximale, en jours, de la période rejouée par une mesure d'impact",
    "impact_timeout_seconds": "budget de temps du bilan JSON d'une mesure d'impact (503 `calcul-trop-long` "
    "au-delà ; le CSV est servi au fil de l'eau)",
    "docs_enabled": "`/docs`, `/redoc`, `/openapi.json` : servis en bac à sable, pas en production "
    "sauf si `true`",
    "metrics_token": "jeton Bearer exigé par `/metrics` ; en production sans lui, `/metrics` n'est pas servi",
    "gateway_mode": "`sandbox` ou `production` (secrets de bac à sable refusés en production)",
    "host": "adresse d'écoute",
    "port": "port d'écoute",
    "api_particulier_url": "API Particulier ; en bac à sable, avec le jeton, un autre serveur "
    "(par ex. le bac à sable officiel) au lieu du simulateur intégré",
    "api_particulier_token": "jeton API Particulier de l'organisme de démonstration",
    "api_particulier_timeout_seconds": "délai d'une réponse d'API Particulier",
    "api_impot_particulier_url": "API Impôt particulier (DGFiP)",
    "api_impot_particulier_token_url": "point d'obtention des jetons OAuth2 de la DGFiP",
    "api_impot_particulier_client_id": "identifiant client OAuth2 de l'organisme de démonstration",
    "api_impot_particulier_client_secret": "secret client OAuth2 de l'organisme de démonstration",
    "api_impot_particulier_id_teleservice": "`ID_Teleservice` attribué par la DGFiP (envoyé à chaque appel)",
    "api_impot_particulier_timeout_seconds": "délai d'une réponse d'API Impôt particulier",
    "api_impot_particulier_cert_file": "certificat client TLS exigé par la DGFiP (PEM)",
    "api_impot_particulier_key_file": "clé privée de ce certificat (PEM)",
    "api_impot_particulier_key_password": "mot de passe de cette clé",
    "api_impot_particulier_ca_file": "autorités de certification de la DGFiP (PEM)",
    "redis_url": "Redis : cache, limiteurs, coalescence et idempotence partagés entre processus "
    "(sinon, en mémoire de chaque processus)",
    "database_url": "journal ; `postgresql://…` en production",
    "database_auto_migrate": "migrations au démarrage ; en multi-réplicas, `.venv/bin/eg db upgrade` "
    "une fois et `false`",
    "gateway_secret_key": "racine des clés HMAC (clés de cache, pseudonymes, idempotence) ; "
    "≥ 32 caractères en production",
    "cache_encryption_keys": "clés Fernet séparées par des virgules ; la première chiffre, toutes "
    "déchiffrent (rotation) ; dérivée en bac à sable",
    "cache_ttl_quotient_familial_seconds": "durée maximale d'un QF en cache (fiable jusqu'à la fin du mois "
    "où il a été obtenu)",
    "gateway_demo_api_key": "clé de l'organisme de démonstration (bac à sable seulement)",
    "gateway_demo_siret": "SIRET de l'organisme de démonstration (fictif et valide par défaut)",
    "sandbox_simulator_port": "port du simulateur API Particulier intégré (0 : port libre)",
    "sandbox_impot_simulator_port": "port du simulateur API Impôt particulier intégré (0 : port libre)",
    "reglements_dir": "dossier des règlements",
    "demo_reglement_file": "règlement de l'organisme de démonstration",
    "cache_ttl_prestations_seconds": "durée d'une prestation CAF (RSA, AAH…) en cache",
    "cache_stale_max_seconds": "au-delà de sa durée, une réponse en cache servie (marquée périmée) si le "
    "fournisseur est en panne (0 : jamais)",
    "cache_impot_actif": "mettre en cache les réponses de la DGFiP (selon ses conditions d'utilisation)",
    "cache_ttl_impot_seconds": "durée d'une réponse de la DGFiP en cache",
    "quota_api_particulier_par_jeton_par_seconde": "quota API Particulier par jeton",
    "quota_api_particulier_par_ip_par_minute": "quota API Particulier par adresse IP sortante",
    "quota_impot_par_client_par_minute": "quota API Impôt particulier par client OAuth2",
    "quota_marge_seconds": "marge ajoutée à chaque fenêtre de quota (fenêtre plus longue qu'annoncé)",
    "breaker_seuil_echecs": "échecs transitoires consécutifs qui ouvrent le disjoncteur",
    "breaker_ouverture_seconds": "durée d'ouverture du disjoncteur",
    "upstream_tentatives": "tentatives par appel à un fournisseur (1 : aucune reprise), dans l'échéance",
    "coalescing_attente_max_seconds": "attente maximale du résultat d'un appel identique "
    "d'un autre processus",
    "api_key_cache_ttl_seconds": "durée pendant laquelle un processus se fie à une clé vérifiée : une clé "
    "révoquée cesse de marcher partout dans ce délai (0 : base interrogée à chaque requête)",
    "client_rate_limit_requests": "requêtes par client et par fenêtre (0 : illimité) ; au-delà, 429 "
    "`trop-de-requetes` avec `Retry-After`",
    "client_rate_limit_window_seconds": "fenêtre de la limite par client",
    "journal_retention_months": "conservation des traces de consultation et de leurs décisions "
    "(`eg journal purge`)",
    "campagne_fichier_max_bytes": "taille maximale d'un fichier de campagne, lue pendant la réception "
    "(413 au-delà)",
    "campagne_max_lignes": "nombre maximal de demandeurs d'un fichier de campagne",
    "campagne_ligne_max_bytes": "longueur maximale d'une ligne d'un fichier de campagne, en octets",
    "campagne_lot_lignes": "lignes portées par un message de la file (un worker prend un lot à la fois)",
    "campagne_concurrence": "lignes de campagne décidées en même temps par un processus",
    "campagne_bail_seconds": "durée pendant laquelle une ligne prise par un worker reste la sienne ; "
    "au-delà (worker tombé), un autre la reprend",
    "campagne_flux_redis": "flux Redis de la file des campagnes (un autre nom pour une autre passerelle "
    "sur le même Redis)",
    "campagne_worker_nice": "priorité processeur que s'abaisse `eg worker` (nice) : le guichet passe "
    "d'abord sur une machine partagée avec la passerelle",
    "campagne_reprise_seconds": "délai après lequel un message non acquitté (worker tombé) est repris "
    "par un autre worker (flux Redis)",
    "request_deadline_seconds": "budget de temps d'une requête, reprises comprises ; les doublons "
    "`Idempotency-Key` attendent la première requête ce temps-là, plus 5 s",
    "log_level": "niveau des journaux techniques (sans donnée personnelle)",
    "log_json": "journaux en JSON (par défaut : JSON hors terminal)",
    "gc_tuning": "gèle les objets du démarrage hors des passes du ramasse-miettes et espace les collectes "
    "des jeunes objets (≈ 17 % du CPU d'un worker sous charge sans cela)",
}


def _cellule(texte: str) -> str:
    return texte.replace("|", "\\|")


def table_erreurs() -> str:
    lignes = ["| statut | code | titre | quand |", "| --- | --- | --- | --- |"]
    for c in codes_stables():
        quand = QUAND.get(c.code, "")
        lignes.append(f"| {c.status} | `{c.code}` | {_cellule(c.title)} | {_cellule(quand)} |")
    return "\n".join(lignes)


def _defaut(nom: str) -> str:
    champ = Settings.model_fields[nom]
    valeur = champ.default
    if valeur is None:
        return "—"
    if isinstance(valeur, SecretStr):
        return "valeur de bac à sable"
    if isinstance(valeur, Path):
        return f"`{valeur.relative_to(PROJECT_ROOT)}`"
    if isinstance(valeur, bool):
        return f"`{str(valeur).lower()}`"
    texte = str(valeur)
    if str(PROJECT_ROOT) in texte:
        # A path under the project (the embedded SQLite journal): shown relative to the clone.
        return f"`{texte.rsplit(str(PROJECT_ROOT) + '/', 1)[1]}` (dans le clone)"
    return f"`{texte}`"


def _bornes(nom: str) -> str:
    bornes = []
    for contrainte in Settings.model_fields[nom].metadata:
        for attribut, signe in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            valeur = getattr(contrainte, attribut, None)
            if valeur is not None:
                bornes.append(f"{signe} {valeur}")
    return ", ".join(bornes)


def table_configuration() -> str:
    lignes = ["| variable | défaut | bornes | rôle |", "| --- | --- | --- | --- |"]
    for nom in Settings.model_fields:
        role = ROLES.get(nom, "")
        lignes.append(f"| `{nom.upper()}` | {_defaut(nom)} | {_bornes(nom)} | {_cellule(role)} |")
    return "\n".join(lignes)


TABLES = {"erreurs": table_erreurs, "configuration": table_configuration}


def remplacer(texte: str) -> str:
    """`texte` (the README) with each generated table replaced by what the code says now."""
    for nom, generer in TABLES.items():
        debut, fin = DEBUT.format(nom=nom), FIN.format(nom=nom)
        avant, milieu, apres = texte.partition(debut)
        if not milieu:
            raise ValueError(f"README : marqueur « {debut} » absent")
        _, fin_trouvee, reste = apres.partition(fin)
        if not fin_trouvee:
            raise ValueError(f"README : marqueur « {fin} » absent")
        texte = f"{avant}{debut}\n{generer()}\n{fin}{reste}"
    return texte


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Tables du README générées depuis le code.")
    parser.add_argument("--check", action="store_true", help="échouer si le README n'est pas à jour")
    args = parser.parse_args(argv)
    actuel = README.read_text(encoding="utf-8")
    attendu = remplacer(actuel)
    if args.check:
        if attendu != actuel:
            print("README.md n'est pas à jour : lancez `make docs`.", file=sys.stderr)
            return 1
        return 0
    README.write_text(attendu, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
