"""The problem+json model (RFC 9457), for the OpenAPI documentation of error answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErreurChamp(BaseModel):
    champ: str
    message: str


class Probleme(BaseModel):
    type: str = Field(examples=["urn:eligibility-gateway:probleme:donnees-invalides"])
    title: str
    status: int
    detail: str = Field(description="Explication en français, sans donnée personnelle.")
    code: str = Field(description="Code stable, dernier segment de `type`.")
    instance: str | None = None
    erreurs: list[ErreurChamp] | None = None
    fournisseur: str | None = None
    code_fournisseur: str | None = None


def _response(description: str) -> dict[str, Any]:
    return {"model": Probleme, "description": description, "content": {"application/problem+json": {}}}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _response("Clé d'API absente ou inconnue"),
    403: _response("Droit ou habilitation manquant"),
    404: _response("Ressource introuvable"),
    422: _response("Données invalides : chaque champ fautif est nommé"),
    429: _response("Trop de requêtes"),
    502: _response("Erreur ou configuration du fournisseur de données"),
    503: _response("Fournisseur ou journal indisponible"),
    504: _response("Le fournisseur n'a pas répondu à temps"),
}
