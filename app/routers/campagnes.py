"""`/v1/campagnes`: a file of applicants decided at the pace the quotas allow (issue 18)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from app.dependencies import CampagnesAppelant, ServicesDep
from app.errors import FieldError, InvalidInput, NotFound, UnsupportedMediaType
from app.schemas.campagnes import (
    COLONNES_RESULTATS,
    CampagneLancee,
    EtatCampagne,
    LiensCampagne,
    LigneEnEchec,
    ListeCampagnes,
    ResumeCampagne,
    StatutsDispositif,
)
from app.schemas.campagnes import ErreurLigne as ErreurLigneOut
from app.schemas.problem import erreurs
from app.services.campagnes import Avancement, Campagne, CampagnesService, ResultatLigne
from app.services.campagnes.fichier import (
    EN_TETE_EXEMPLE,
    FICHIER_BINAIRE,
    format_du_type,
    format_reconnu,
    lignes_csv_exemple,
)
from app.services.campagnes.service import ERREURS_LISTEES_MAX

router = APIRouter(prefix="/v1", tags=["campagnes"])

BOM = "\ufeff"
#: How often the event stream sends the campaign's state, and how long one connection lasts.
INTERVALLE_EVENEMENTS_SECONDES = 1.0
DUREE_MAX_EVENEMENTS_SECONDES = 3600.0

_EXEMPLE_CSV = "\n".join(lignes_csv_exemple()) + "\n"
CORPS_FICHIER: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Le fichier des demandeurs, une ligne par demandeur, en UTF-8 (avec ou sans BOM). "
        "CSV : en-tête obligatoire, séparateur `;` ou `,` (détecté), colonnes `dossier_ref`, "
        "`nom_naissance`, `prenoms` (séparés par des espaces), `sexe`, `code_cog_insee_pays_naissance` "
        "obligatoires ; `nom_usage`, `date_naissance`, `code_cog_insee_commune_naissance`, "
        "`nom_commune_naissance`, `code_cog_insee_departement_naissance`, `numero_fiscal`, "
        "`annee_des_revenus` facultatives ; toute autre colonne est un fait déclaré (`declaratif`, "
        "ex. `commune_residence`). JSON Lines : un objet par ligne, `dossier_ref`, `demandeur` et "
        "`declaratif` comme dans POST /v1/eligibilite.",
        # Declared as a binary file (what generated clients know how to send); the gateway reads
        # `Content-Type: text/csv` or `application/x-ndjson` as such, and recognises the format of an
        # `application/octet-stream` file by its first character (`{`: JSON Lines, else CSV).
        "content": {
            "application/octet-stream": {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "description": "Le fichier, CSV (en-tête : " + EN_TETE_EXEMPLE + ") ou JSON Lines.",
                },
                "example": _EXEMPLE_CSV,
            },
        },
    }
}

Dispositifs = Annotated[
    list[str] | None,
    Query(
        description="Aides à évaluer (répéter le paramètre : `dispositifs=a&dispositifs=b`) ; toutes "
        "celles du règlement si absent.",
        max_length=50,
    ),
]
DateReference = Annotated[
    date | None, Query(description="Date de référence des décisions (AAAA-MM-JJ) ; aujourd'hui si absente.")
]
CampagneId = Annotated[uuid.UUID, "identifiant de la campagne"]


def _service(services: ServicesDep) -> CampagnesService:
    assert services.campagnes is not None  # noqa: S101 - built by the container
    return services.campagnes


@router.post(
    "/campagnes",
    operation_id="lancer_campagne",
    status_code=202,
    response_model=CampagneLancee,
    summary="Lancer une campagne : un fichier de demandeurs décidés au rythme des quotas",
    responses={**erreurs(413, 503)},
    openapi_extra=CORPS_FICHIER,
)
async def post_campagne(
    request: Request,
    services: ServicesDep,
    appelant: CampagnesAppelant,
    dispositifs: Dispositifs = None,
    date_reference: DateReference = None,
) -> CampagneLancee:
    """Lit le fichier au fil de l'eau : chaque ligne est vérifiée comme une requête
    `POST /v1/eligibilite` ; les lignes invalides sont listées (numéro, champ, raison) et ne coûtent
    aucun appel aux fournisseurs, les valides sont mises en file. Chacune deviendra une décision
    journalisée, au rythme que les quotas des fournisseurs permettent (les demandes du guichet
    passent d'abord). Le fichier n'est pas conservé ; chaque demande est chiffrée jusqu'à sa décision."""
    # A misspelt `dispositif=` must not run every aid of the règlement on a whole file.
    inconnus = sorted(set(request.query_params) - {"dispositifs", "date_reference"})
    if inconnus:
        raise InvalidInput.for_fields([FieldError(nom, "paramètre inconnu") for nom in inconnus[:10]])
    type_contenu = request.headers.get("content-type")
    format_fichier = format_du_type(type_contenu)
    morceaux: AsyncIterator[bytes] = request.stream()
    if format_fichier is None and (type_contenu or "").split(";", 1)[0].strip().lower() == FICHIER_BINAIRE:
        format_fichier, morceaux = await format_reconnu(morceaux)
    if format_fichier is None:
        raise UnsupportedMediaType(
            "Le fichier doit être envoyé en « Content-Type: text/csv », « application/x-ndjson » ou "
            "« application/octet-stream »."
        )
    lancement = await _service(services).lancer(
        appelant,
        format_fichier=format_fichier,
        morceaux=morceaux,
        dispositifs=dispositifs,
        date_reference=date_reference,
    )
    campagne = lancement.campagne
    base = f"/v1/campagnes/{campagne.id}"
    return CampagneLancee(
        id=campagne.id,
        etat=campagne.etat,
        lignes_valides=lancement.lignes_valides,
        lignes_invalides=lancement.lignes_invalides,
        erreurs=[ErreurLigneOut(ligne=e.ligne, champ=e.champ, message=e.message) for e in lancement.erreurs],
        erreurs_tronquees=len(lancement.erreurs) >= ERREURS_LISTEES_MAX,
        liens=LiensCampagne(suivi=base, evenements=base + "/evenements", resultats=base + "/resultats"),
    )


@router.get(
    "/campagnes",
    operation_id="lister_campagnes",
    response_model=ListeCampagnes,
    summary="Les campagnes de l'organisme",
)
async def get_campagnes(
    services: ServicesDep,
    appelant: CampagnesAppelant,
    limite: Annotated[int, Query(ge=1, le=200, description="Nombre de campagnes rendues.")] = 50,
) -> ListeCampagnes:
    """Les campagnes de l'organisme appelant, les plus récentes d'abord."""
    campagnes = await _service(services).lister(appelant, limite=limite)
    return ListeCampagnes(
        campagnes=[
            ResumeCampagne(
                id=c.id,
                etat=c.etat,
                cree_le=c.cree_le,
                total=c.total_lignes,
                lignes_invalides=c.lignes_invalides,
                dispositifs=c.dispositifs,
                termine_le=c.termine_le,
            )
            for c in campagnes
        ]
    )


async def _etat(services: ServicesDep, appelant: CampagnesAppelant, campagne_id: uuid.UUID) -> EtatCampagne:
    lue = await _service(services).lire(appelant, campagne_id)
    if lue is None:
        raise NotFound("Campagne inconnue.")
    return etat_campagne(*lue)


def etat_campagne(campagne: Campagne, avancement: Avancement) -> EtatCampagne:
    par_etat = avancement.par_etat
    en_file = par_etat.get("en_attente", 0) + par_etat.get("en_cours", 0)
    debit = avancement.faites_derniere_minute / 60 if avancement.faites_derniere_minute else None
    if debit is not None and avancement.premiere_faite is not None and avancement.derniere_faite is not None:
        # A campaign younger than a minute: its rate since its first decision.
        duree = (avancement.derniere_faite - avancement.premiere_faite).total_seconds()
        if duree < 60 and avancement.faites_derniere_minute > 1 and duree > 0:
            debit = (avancement.faites_derniere_minute - 1) / duree
    fin = None
    if campagne.etat == "en_cours" and debit and en_file:
        fin = datetime.now(UTC) + timedelta(seconds=en_file / debit)
    return EtatCampagne(
        id=campagne.id,
        etat=campagne.etat,
        cree_le=campagne.cree_le,
        date_reference=campagne.date_reference,
        dispositifs=campagne.dispositifs,
        total=campagne.total_lignes,
        lignes_invalides=campagne.lignes_invalides,
        en_file=en_file,
        faites=par_etat.get("faite", 0),
        en_echec=par_etat.get("echec", 0),
        annulees=par_etat.get("annulee", 0),
        par_dispositif={
            d: StatutsDispositif(**{s: n for s, n in statuts.items() if s in StatutsDispositif.model_fields})
            for d, statuts in sorted(avancement.par_dispositif.items())
        },
        echecs=[
            LigneEnEchec(ligne=e.numero, dossier_ref=e.dossier_ref, code=e.code, detail=e.detail)
            for e in avancement.echecs
        ],
        debit_par_seconde=None if debit is None else round(debit, 2),
        fin_estimee=fin,
        pause_motif=campagne.pause_motif,
        termine_le=campagne.termine_le,
    )


@router.get(
    "/campagnes/{campagne_id}",
    operation_id="suivre_campagne",
    response_model=EtatCampagne,
    summary="L'état et l'avancement d'une campagne",
    responses={**erreurs(404)},
)
async def get_campagne(
    campagne_id: uuid.UUID, services: ServicesDep, appelant: CampagnesAppelant
) -> EtatCampagne:
    """État, lignes en file et faites, statuts par aide, échecs et leur raison, débit et fin
    estimée. La campagne d'un autre organisme est introuvable (404)."""
    return await _etat(services, appelant, campagne_id)


@router.post(
    "/campagnes/{campagne_id}/annulation",
    operation_id="annuler_campagne",
    response_model=EtatCampagne,
    summary="Annuler une campagne",
    responses={**erreurs(404)},
)
async def post_annulation(
    campagne_id: uuid.UUID, services: ServicesDep, appelant: CampagnesAppelant
) -> EtatCampagne:
    """Les lignes pas encore prises sont retirées (leurs demandes chiffrées effacées) ; celles en
    cours se terminent. Les décisions déjà rendues restent au journal. Sans effet sur une campagne
    finie."""
    if not await _service(services).annuler(appelant, campagne_id):
        raise NotFound("Campagne inconnue.")
    return await _etat(services, appelant, campagne_id)


@router.get(
    "/campagnes/{campagne_id}/evenements",
    operation_id="suivre_campagne_en_direct",
    summary="L'avancement d'une campagne en direct (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Un événement `avancement` par seconde (données : l'état de la campagne, "
            "comme GET /v1/campagnes/{id}), puis `fin` quand elle est terminée ou annulée.",
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "description": "Un événement du flux (text/event-stream).",
                        "properties": {
                            "event": {
                                "type": "string",
                                "enum": ["avancement", "fin"],
                                "description": "Nom de l'événement.",
                            },
                            "data": {
                                "type": "string",
                                "description": "L'état de la campagne en JSON (pour `fin` : son état final).",
                            },
                        },
                    },
                    "example": 'event: avancement\ndata: {"etat": "en_cours", "faites": 10}\n\n',
                }
            },
        },
        **erreurs(404),
    },
)
async def get_evenements(
    campagne_id: uuid.UUID, request: Request, services: ServicesDep, appelant: CampagnesAppelant
) -> StreamingResponse:
    """Pour une barre de progression : l'état de la campagne chaque seconde, jusqu'à sa fin (une
    connexion dure au plus une heure ; le client se reconnecte)."""
    premier = await _etat(services, appelant, campagne_id)

    async def flux() -> AsyncIterator[str]:
        etat = premier
        debut = anyio.current_time()
        while True:
            yield f"event: avancement\ndata: {etat.model_dump_json()}\n\n"
            if etat.etat != "en_cours":
                yield f"event: fin\ndata: {json.dumps({'etat': etat.etat})}\n\n"
                return
            if (
                anyio.current_time() - debut > DUREE_MAX_EVENEMENTS_SECONDES
                or await request.is_disconnected()
            ):
                return
            await anyio.sleep(INTERVALLE_EVENEMENTS_SECONDES)
            etat = await _etat(services, appelant, campagne_id)

    return StreamingResponse(
        flux(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/campagnes/{campagne_id}/resultats",
    operation_id="exporter_resultats_campagne",
    summary="Les résultats d'une campagne (CSV ou JSON Lines)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Une ligne par demandeur et par aide (colonnes : "
            + ", ".join(COLONNES_RESULTATS)
            + ") ; une ligne en échec ou annulée une fois, sans aide.",
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "description": "Résultats en CSV (RFC 4180, UTF-8)."},
                    "example": ",".join(COLONNES_RESULTATS) + "\r\n",
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "Résultats en JSON Lines."},
                    "example": '{"ligne": 2, "dossier_ref": "D-2026-00042", "statut": "eligible"}\n',
                },
            },
        },
        **erreurs(404),
    },
)
async def get_resultats(
    campagne_id: uuid.UUID,
    services: ServicesDep,
    appelant: CampagnesAppelant,
    format: Annotated[
        Literal["csv", "jsonl"], Query(description="`csv` (par défaut) ou `jsonl` (JSON Lines).")
    ] = "csv",
    tableur: Annotated[
        bool,
        Query(
            description="CSV pour les tableurs français (Excel, LibreOffice) : séparateur `;` et "
            "marque d'ordre d'octets UTF-8 (BOM) en tête."
        ),
    ] = False,
) -> Response:
    """Diffusées au fil de la lecture (jamais toute la campagne en mémoire), dans l'ordre du
    fichier : statut, montant, tranche, motif et identifiant de la décision journalisée."""
    service = _service(services)
    lue = await service.lire(appelant, campagne_id)
    if lue is None:
        raise NotFound("Campagne inconnue.")
    campagne = lue[0]
    if format == "jsonl" and not tableur:
        return StreamingResponse(
            _jsonl(service.exporter(campagne)),
            media_type="application/x-ndjson; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="campagne-{campagne.id}.jsonl"'},
        )
    return StreamingResponse(
        _csv(service.exporter(campagne), separateur=";" if tableur else ",", bom=tableur),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campagne-{campagne.id}.csv"'},
    )


def _valeurs(r: ResultatLigne) -> list[Any]:
    return [
        r.ligne,
        r.dossier_ref,
        r.etat,
        r.dispositif,
        r.statut,
        r.montant,
        r.tranche,
        r.motif,
        None if r.decision_id is None else str(r.decision_id),
        r.erreur,
    ]


async def _jsonl(resultats: AsyncIterator[ResultatLigne]) -> AsyncIterator[str]:
    async for r in resultats:
        yield json.dumps(dict(zip(COLONNES_RESULTATS, _valeurs(r), strict=True)), ensure_ascii=False) + "\n"


async def _csv(resultats: AsyncIterator[ResultatLigne], *, separateur: str, bom: bool) -> AsyncIterator[str]:
    tampon = io.StringIO()
    ecrivain = csv.writer(tampon, delimiter=separateur)
    ecrivain.writerow(COLONNES_RESULTATS)
    yield (BOM if bom else "") + tampon.getvalue()
    n = 0
    async for r in resultats:
        if n == 0:
            tampon.seek(0)
            tampon.truncate()
        ecrivain.writerow(["" if v is None else v for v in _valeurs(r)])
        n += 1
        if n >= 200:
            yield tampon.getvalue()
            n = 0
    if n:
        yield tampon.getvalue()
