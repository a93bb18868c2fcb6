"""API Particulier v3 error bodies: `{"errors":[{code,title,detail,source,meta}]}` (contract §4).

Titles and details are SIADE's own (`config/errors.yml`, the OpenAPI examples) where the sources give
them; the few the sources do not spell out (00353, 00354, 00400, 00420, 00428) are worded in the same style.
"""

from __future__ import annotations

from typing import Any

from app.simulators.api_particulier.catalogue import Endpoint

ENTITE_NON_TRAITABLE = "Entité non traitable"

# code → detail of the parameter errors (all titled "Entité non traitable").
DETAILS_PARAMETRES: dict[str, str] = {
    "00210": "Le paramètre recipient n'est pas un siret valide",
    "00353": "L'année n'est pas correctement formatée",
    "00354": "Le mois demandé est incorrect ou dans le futur",
    "00356": "L'année demandée doit être l'année en cours (N), N-1 ou N-2.",
    "00363": "La date de naissance n'est pas correctement formatté",
    "00365": "Le lieu de naissance n'est pas correctement formaté",
    "00367": "Le ou les prénoms sont manquants.",
    "00400": "Le code COG INSEE du pays de naissance n'est pas correctement formaté",
    "00420": "Le nom de naissance est manquant ou n'est pas correctement formaté",
    "00427": "Le sexe de l'état civil est manquant",
    "00428": "Le code COG INSEE du département de naissance n'est pas correctement formaté",
}
DETAIL_SEXE_INVALIDE = "Le sexe de l'état civil n'est pas correctement formaté (M ou F)"


def erreur(
    code: str,
    title: str,
    detail: str,
    *,
    parameter: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One error object; `source` is left out when unset, as SIADE's serializer drops nulls."""
    objet: dict[str, Any] = {"code": code, "title": title, "detail": detail}
    if parameter is not None:
        objet["source"] = {"parameter": parameter}
    objet["meta"] = meta or {}
    return objet


def corps(*erreurs: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(erreurs)}


def erreur_parametre(code: str, parameter: str, detail: str | None = None) -> dict[str, Any]:
    return erreur(code, ENTITE_NON_TRAITABLE, detail or DETAILS_PARAMETRES[code], parameter=parameter)


def jeton_invalide() -> dict[str, Any]:
    return corps(
        erreur(
            "00101",
            "Interdit",
            "Votre token n'est pas valide ou n'est pas renseigné",
            parameter="token",
        )
    )


def jeton_france_connect_invalide() -> dict[str, Any]:
    return corps(erreur("50002", "Accès non autorisé", "Le jeton d'accès n'a pas été trouvé ou est expiré."))


def privileges_insuffisants() -> dict[str, Any]:
    return corps(
        erreur(
            "00100",
            "Privilèges insuffisants",
            "Votre token est valide mais vos privilèges sont insuffisants. "
            "Listez vos privilèges sur /api/introspect",
            parameter="token",
        )
    )


def conflit() -> dict[str, Any]:
    return corps(
        erreur(
            "00015",
            "Conflit",
            "Une requête associé à votre jeton est déjà en cours de traitement pour ces paramètres. "
            "Veuillez attendre la fin du traitement avant d'effectuer une nouvelle requête.",
        )
    )


def trop_de_requetes() -> dict[str, Any]:
    return corps(erreur("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes"))


def maintenance(endpoint: Endpoint, retry_in: int) -> dict[str, Any]:
    return corps(
        erreur(
            f"{endpoint.prefixe_code}020",
            "Maintenance du fournisseur de données",
            "Le fournisseur de données est en maintenance de 23:00 à 23:45",
            meta={"provider": endpoint.fournisseur, "retry_in": retry_in},
        )
    )


def version_non_supportee(version: str) -> dict[str, Any]:
    return corps(
        erreur(
            "00402",
            "Version d'API non prise en charge",
            f"La version {version} n'est pas supportée pour cet endpoint",
        )
    )


def erreur_serveur(status: int, endpoint: Endpoint) -> dict[str, Any]:
    """The body SIADE gives for a forced server-side failure of this status."""
    provider = {"provider": endpoint.fournisseur}
    prefixe = endpoint.prefixe_code
    if status == 504:
        return corps(
            erreur(
                f"{prefixe}002",
                "Intermédiaire hors-délai",
                "Temps d’attente d’une réponse du fournisseur de données écoulé.",
                meta=provider,
            )
        )
    if status in (502, 503):
        return corps(
            erreur(
                f"{prefixe}001",
                "Service non disponible",
                "Service du fournisseur de données temporairement indisponible ou en maintenance.",
                meta=provider,
            )
        )
    return corps(
        erreur(
            "00500",
            "Erreur interne",
            "Une erreur interne a été détectée, l'équipe d'API Particulier a été notifiée de l'erreur.",
        )
    )
