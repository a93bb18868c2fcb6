"""The problem+json model (RFC 9457), for the OpenAPI documentation of error answers.

`app.openapi` declares it under `application/problem+json` for every error status and makes its
`code` an enum of every stable code of the exception tree; the routes do not list error answers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ErreurChamp(BaseModel):
    """Un champ fautif et ce qui ne va pas."""

    champ: str = Field(description="Chemin du champ, en notation pointée (ex. `demandeur.sexe`).")
    message: str = Field(description="Ce qui ne va pas, en français ; la valeur reçue n'est jamais répétée.")


class Probleme(BaseModel):
    """Une erreur, au format `application/problem+json` (RFC 9457)."""

    model_config = ConfigDict(
        title="Probleme",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:eligibility-gateway:probleme:donnees-invalides",
                    "title": "Données invalides",
                    "status": 422,
                    "detail": "demandeur.sexe : n'est pas une valeur admise",
                    "code": "donnees-invalides",
                    "instance": "/v1/eligibilite",
                    "erreurs": [{"champ": "demandeur.sexe", "message": "n'est pas une valeur admise"}],
                }
            ]
        },
    )

    type: str = Field(
        description="URN du problème : `urn:eligibility-gateway:probleme:` suivi du code.",
        examples=["urn:eligibility-gateway:probleme:donnees-invalides"],
    )
    title: str = Field(description="Intitulé court du problème, en français.")
    status: int = Field(description="Statut HTTP de la réponse.", ge=400, le=599)
    detail: str = Field(description="Explication en français, sans donnée personnelle.")
    code: str = Field(description="Code stable, dernier segment de `type`.")
    instance: str | None = Field(default=None, description="Chemin de la requête en cause.")
    erreurs: list[ErreurChamp] | None = Field(
        default=None, description="Pour un 422 : chaque champ fautif, nommé."
    )
    fournisseur: str | None = Field(
        default=None, description="Pour une erreur d'un fournisseur : lequel (ex. API Particulier)."
    )
    code_fournisseur: str | None = Field(
        default=None, description="Code d'erreur renvoyé par le fournisseur, quand il en donne un."
    )


def erreurs(*statuts: int) -> dict[int | str, dict[str, str]]:
    """The `responses=` of a route: the error statuses it can answer beyond the common ones
    (401, 403, 405, 415, 422, 429, 500 are added by `app.openapi` where they apply)."""
    return {statut: {"description": "Erreur (application/problem+json)"} for statut in statuts}


#: Routes that call a provider: person not found, provider error, unavailable, too slow.
ERREURS_FOURNISSEUR = erreurs(404, 502, 503, 504)
#: Kept for routes written before `erreurs`: every error status a consultation can answer.
PROBLEM_RESPONSES = ERREURS_FOURNISSEUR
