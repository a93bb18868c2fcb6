"""Request dependencies, exposed as `Annotated` aliases so routes never put `Depends()` in a default."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.container import Services
from app.errors import AuthenticationRequired, FieldError, InvalidInput, NotFound, PermissionDenied
from app.services.organismes import Appelant

_bearer = HTTPBearer(
    auto_error=False,
    description="Clé d'API du logiciel métier (en bac à sable : `demo-ccas-cle-publique`).",
)
#: The JSON Schema form (ECMA-262, where `$` is the end of the text).
AGENT_ID_PATTERN = r"^[A-Za-z0-9._:@\-]{1,64}$"
# `\Z`, not `$`: in Python `$` also matches before a final newline.
_AGENT_ID = re.compile(AGENT_ID_PATTERN.removesuffix("$") + r"\Z")


async def get_services(request: Request) -> Services:
    services: Services = request.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def _authentifier(
    services: Services, credentials: HTTPAuthorizationCredentials | None, source: str | None = None
) -> Appelant:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthenticationRequired("Une clé d'API est requise : en-tête « Authorization: Bearer <clé> ».")
    appelant = await services.annuaire.authentifier(credentials.credentials, source=source)
    if appelant is None:
        raise AuthenticationRequired("Cette clé d'API est inconnue, révoquée ou expirée.")
    # Counted once authenticated, per client: an unknown key cannot spend another client's allowance.
    await services.limiteur.verifier(appelant.client.id)
    return appelant


def scope_requis(scope: str) -> object:
    """A dependency giving the authenticated caller, refused (403, before any work) if its client
    lacks `scope`. One dependency level, not three: each level costs every request (measured)."""

    async def appelant_autorise(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Appelant:
        source = request.client.host if request.client is not None else None
        appelant = await _authentifier(request.state.services, credentials, source)
        if scope not in appelant.client.scopes:
            raise PermissionDenied(f"Ce client n'a pas le droit « {scope} ».")
        return appelant

    return Depends(appelant_autorise)


async def get_agent_id(
    x_agent_id: Annotated[
        str | None,
        Header(
            description="Identifiant opaque de l'agent au guichet (journalisé) : 1 à 64 caractères "
            "parmi lettres, chiffres et . _ : @ -.",
            json_schema_extra={"pattern": AGENT_ID_PATTERN},
        ),
    ] = None,
) -> str | None:
    if x_agent_id is None:
        return None
    if not _AGENT_ID.match(x_agent_id):
        raise InvalidInput.for_fields(
            [FieldError("X-Agent-Id", "1 à 64 caractères parmi lettres, chiffres et . _ : @ -")]
        )
    return x_agent_id


def agent_id_valide(valeur: str) -> bool:
    """The form an agent id takes, in `X-Agent-Id` as in a journal filter."""
    return bool(_AGENT_ID.match(valeur))


async def metriques_autorisees(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """`/metrics` answers with METRICS_TOKEN as bearer when one is set; without one, only in
    sandbox: in production its series (per organisme, per provider) stay off the public port."""
    jeton = request.state.services.settings.metrics_token
    if jeton is None:
        if request.state.services.settings.is_sandbox:
            return
        raise NotFound("Cette adresse n'existe pas.")
    attendu = jeton.get_secret_value().encode()
    recu = (credentials.credentials if credentials is not None else "").encode()
    if not hmac.compare_digest(recu, attendu):
        raise AuthenticationRequired(
            "Les métriques demandent le jeton METRICS_TOKEN en « Authorization: Bearer »."
        )


AgentIdDep = Annotated[str | None, Depends(get_agent_id)]
MetriquesAutorisees = Annotated[None, Depends(metriques_autorisees)]

#: An opaque key of 1 to 255 characters, optionally quoted (the draft's sf-string form).
IDEMPOTENCY_KEY_PATTERN = r'^"?[A-Za-z0-9._:/+=\-]{1,255}"?$'


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="Clé d'idempotence choisie par l'appelant (ex. un UUID), une par requête "
            "logique : la même clé et le même corps dans les 24 heures rendent la même réponse, "
            "sans nouvel appel aux fournisseurs ni nouvelle entrée au journal (réponse marquée "
            "`Idempotency-Replayed: true`) ; la même clé avec un autre corps est refusée (422 "
            "`cle-idempotence-reutilisee`). Propre à chaque client.",
            examples=["8e03978e-40d5-43e8-bc93-6894a57f9324"],
        ),
    ] = None,
) -> str | None:
    return idempotency_key.strip('"') if idempotency_key is not None else None


IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]
EligibiliteAppelant = Annotated[Appelant, scope_requis("eligibilite")]
DonneesAppelant = Annotated[Appelant, scope_requis("donnees")]
SimulationsAppelant = Annotated[Appelant, scope_requis("simulations")]
JournalAppelant = Annotated[Appelant, scope_requis("journal:lecture")]
CampagnesAppelant = Annotated[Appelant, scope_requis("campagnes")]
