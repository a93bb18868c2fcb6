"""Organismes (CCAS), their clients and API keys: who is calling, with which règlement and credentials.

API keys are stored only as SHA-256 digests (they are long random secrets, so a fast hash is the
right tool; a password hash would only slow every request down). In sandbox mode the directory
holds the demo organisme and its demo key; managing organismes in the database is issue #7.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from app.rules.model import Reglement

#: Scopes a client (the business software of an organisme) may hold.
SCOPES_CLIENT = frozenset({"eligibilite", "donnees", "simulations", "journal:lecture", "admin"})


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Organisme:
    """A CCAS: its SIRET is sent as `recipient` on every upstream call made for it."""

    id: str
    nom: str
    siret: str
    reglement: Reglement
    api_particulier_token: SecretStr | None
    #: OAuth2 client credentials of its API Impôt particulier habilitation, if it has one.
    impot_client_id: str | None = None
    impot_client_secret: SecretStr | None = None
    #: Upstream scopes its habilitation grants; `None` means "not restricted by the gateway".
    scopes_habilitation: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """The business software of one organisme, authenticated by an API key."""

    id: str
    organisme_id: str
    scopes: frozenset[str] = field(default_factory=lambda: SCOPES_CLIENT)


@dataclass(frozen=True, slots=True)
class Appelant:
    """Who is calling: the client and the organisme it acts for."""

    client: Client
    organisme: Organisme


class AnnuaireOrganismes:
    """In-memory directory of organismes and clients, looked up by the digest of an API key."""

    def __init__(
        self,
        organismes: Iterable[Organisme],
        cles: Mapping[str, Client],
    ) -> None:
        self._organismes = {o.id: o for o in organismes}
        self._clients_par_empreinte = dict(cles)
        unknown = {c.organisme_id for c in cles.values()} - set(self._organismes)
        if unknown:
            raise ValueError(f"clients rattachés à des organismes inconnus : {sorted(unknown)}")

    def authentifier(self, api_key: str) -> Appelant | None:
        client = self._clients_par_empreinte.get(hash_api_key(api_key))
        if client is None:
            return None
        return Appelant(client=client, organisme=self._organismes[client.organisme_id])

    def organisme(self, organisme_id: str) -> Organisme | None:
        return self._organismes.get(organisme_id)
