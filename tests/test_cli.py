"""The administrative command line on a real SQLite database: organismes, clients, keys printed once,
rotation, revocation and the journal purge report."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app import cli
from app.config import DEMO_ORGANISME_SIRET, PROJECT_ROOT, Settings, get_settings
from app.db.engine import create_engine_from_url
from app.rules.loader import charger_reglement
from app.rules.needs import scopes_requis
from app.services.journal import Journal
from app.services.journal.lock import purge_lock
from app.services.organismes import AnnuaireOrganismes, ChiffrementSecrets
from tests.organismes import SIRET_A, SIRET_B
from tests.services.journal.test_ecriture import _consultation, _decision

#: The scopes `GET /v1/reglement` publishes for the demo règlement.
HABILITATION_DEMO = scopes_requis(charger_reglement(PROJECT_ROOT / "reglements" / "demo.yaml"))
KEY = re.compile(r"^eg_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GATEWAY_MODE", "sandbox")
    monkeypatch.setenv("ORGANISME_API_PARTICULIER_TOKEN", "jeton-du-ccas")
    # ccas-a's own règlement (the demo's, its header naming ccas-a's SIRET), and a copy as shipped.
    dossier = tmp_path / "reglements"
    dossier.mkdir()
    demo = (PROJECT_ROOT / "reglements" / "demo.yaml").read_text(encoding="utf-8")
    (dossier / "demo.yaml").write_text(demo.replace(DEMO_ORGANISME_SIRET, SIRET_A), encoding="utf-8")
    (dossier / "copie-de-demoville.yaml").write_text(demo, encoding="utf-8")
    monkeypatch.setenv("REGLEMENTS_DIR", str(dossier))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _authentifier(url: str, key: str) -> str | None:
    engine = create_engine_from_url(url)
    try:
        settings = Settings(
            _env_file=None, database_url=url, reglements_dir=Path(os.environ["REGLEMENTS_DIR"])
        )
        annuaire = AnnuaireOrganismes(
            engine,
            ChiffrementSecrets(settings.gateway_secret_key),
            reglements_dir=settings.reglements_dir,
            ttl_seconds=0,
        )
        appelant = await annuaire.authentifier(key)
        return None if appelant is None else appelant.client.id
    finally:
        await engine.dispose()


def test_organisme_client_and_key_lifecycle(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
        "--reglement", "demo.yaml", "--habilitation", ",".join(sorted(HABILITATION_DEMO)),
    )  # fmt: skip
    assert code == 0, out
    code, out, _ = run(
        capsys,
        "client",
        "create",
        "--organisme",
        "ccas-a",
        "--id",
        "logiciel",
        "--scopes",
        "eligibilite,journal:lecture",
    )
    assert code == 0
    [first] = KEY.findall(out)
    assert asyncio.run(_authentifier(database, first)) == "logiciel"

    code, out, _ = run(capsys, "key", "rotate", "--client", "logiciel", "--chevauchement", "2h")
    assert code == 0
    [second] = KEY.findall(out)
    assert second != first
    assert asyncio.run(_authentifier(database, first)) == "logiciel"  # during the overlap

    code, out, _ = run(capsys, "organisme", "list")
    assert code == 0
    assert "ccas-a" in out
    assert ", ".join(sorted(HABILITATION_DEMO)) in out
    assert first[:10] in out
    assert first not in out  # listings never show a key, only its prefix
    assert second not in out
    assert "jeton-du-ccas" not in out

    code, out, _ = run(capsys, "client", "revoke", "logiciel")
    assert code == 0
    assert "2 clé(s)" in out
    assert asyncio.run(_authentifier(database, second)) is None


def test_refusals_are_french_messages_and_exit_code_2(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", "12345678901234",
        "--reglement", "demo.yaml",
    )  # fmt: skip
    assert code == 2
    assert "SIRET" in err
    code, _, err = run(capsys, "client", "revoke", "inconnu")
    assert code == 2
    assert "inconnu" in err
    with pytest.raises(SystemExit):
        cli.main(["key", "rotate", "--client", "x", "--chevauchement", "demain"])


def test_habilitation_short_of_the_reglement_is_refused_unless_forced(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    creer = ("organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
             "--reglement", "demo.yaml", "--habilitation", "cnaf_quotient_familial,cnaf_enfants")  # fmt: skip
    code, out, err = run(capsys, *creer)
    assert code == 2
    assert "cnaf_allocataires, dgfip_pac, dgfip_rfr, dgfip_sitfam" in err
    assert "--force" in err
    assert out == ""
    code, out, err = run(capsys, *creer, "--force")
    assert code == 0
    assert "créé" in out
    assert err.startswith("attention : ")
    assert "dgfip_rfr" in err
    # The reload checks the same thing, with the same escape hatch.
    code, _, err = run(capsys, "organisme", "reload", "ccas-a")
    assert code == 2
    assert "dgfip_rfr" in err
    code, out, err = run(capsys, "organisme", "reload", "ccas-a", "--force")
    assert code == 0
    assert "version 2" in out
    assert "dgfip_rfr" in err


def test_a_copied_reglement_and_a_second_siret_are_refused(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "organisme", "create", "--id", "ccas-lyon", "--nom", "CCAS de Lyon", "--siret", SIRET_B,
        "--reglement", "copie-de-demoville.yaml",
    )  # fmt: skip
    assert code == 2
    assert "CCAS de Démoville" in err
    assert DEMO_ORGANISME_SIRET in err
    assert "CCAS de Lyon" in err
    code, _, _ = run(
        capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
        "--reglement", "demo.yaml",
    )  # fmt: skip
    assert code == 0
    code, _, err = run(
        capsys, "organisme", "create", "--id", "ccas-a-bis", "--nom", "CCAS A bis", "--siret", SIRET_A,
        "--reglement", "demo.yaml",
    )  # fmt: skip
    assert code == 2
    assert "déjà celui de l'organisme « ccas-a »" in err
    # Replacing the organisme itself keeps its SIRET.
    code, _, err = run(
        capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
        "--reglement", "demo.yaml", "--remplacer",
    )  # fmt: skip
    assert code == 0, err


def test_durations() -> None:
    assert cli.duree("90") == timedelta(seconds=90)
    assert cli.duree("30m") == timedelta(minutes=30)
    assert cli.duree("24h") == timedelta(hours=24)
    assert cli.duree("7d") == timedelta(days=7)


def test_journal_purge_reports_and_dry_run_keeps(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "db", "upgrade")
    assert code == 0
    now = datetime.now(UTC)

    async def seed() -> None:
        engine = create_engine_from_url(database)
        try:
            journal = Journal(engine)
            for age in (timedelta(days=40 * 31), timedelta(days=38 * 31), timedelta(days=10)):
                consultation = _consultation(cree_le=now - age)
                await journal.enregistrer(consultation, _decision(consultation))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    code, out, _ = run(capsys, "journal", "purge", "--dry-run")
    assert code == 0
    assert "simulation" in out
    assert "consultations : 2 (eligibilite 2)" in out
    assert "décisions : 2" in out
    code, out, _ = run(capsys, "journal", "purge")
    assert "consultations : 2 (eligibilite 2)" in out
    assert f"du {(now - timedelta(days=40 * 31)):%Y-%m-%d}" in out
    code, out, _ = run(capsys, "journal", "purge")  # nothing left past the limit
    assert "consultations : 0" in out
    assert "décisions : 0" in out


def _seed_today(database: str, nombre: int) -> None:
    async def seed() -> None:
        engine = create_engine_from_url(database)
        try:
            journal = Journal(engine)
            for _ in range(nombre):
                consultation = _consultation(cree_le=datetime.now(UTC) - timedelta(minutes=5))
                await journal.enregistrer(consultation, _decision(consultation))
        finally:
            await engine.dispose()

    asyncio.run(seed())


def _lignes(database: str) -> tuple[int, int]:
    async def count() -> tuple[int, int]:
        engine = create_engine_from_url(database)
        try:
            async with engine.connect() as connection:
                consultations = (
                    await connection.execute(text("SELECT count(*) FROM consultations"))
                ).scalar_one()
                decisions = (await connection.execute(text("SELECT count(*) FROM decisions"))).scalar_one()
                return int(consultations), int(decisions)
        finally:
            await engine.dispose()

    return asyncio.run(count())


@pytest.mark.parametrize("mois", ["-1", "0", "2.5", "trois"])
def test_purge_refuses_a_retention_below_one_month_and_deletes_nothing(
    database: str, capsys: pytest.CaptureFixture[str], mois: str
) -> None:
    run(capsys, "db", "upgrade")
    _seed_today(database, 3)
    with pytest.raises(SystemExit) as sortie:
        cli.main(["journal", "purge", "--mois", mois])
    assert sortie.value.code == 2
    assert "--mois" in capsys.readouterr().err
    assert _lignes(database) == (3, 3)


def test_purge_below_the_configured_retention_needs_force(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "db", "upgrade")
    now = datetime.now(UTC)

    async def seed() -> None:
        engine = create_engine_from_url(database)
        try:
            journal = Journal(engine)
            for age in (timedelta(days=3 * 31), timedelta(days=1)):
                consultation = _consultation(cree_le=now - age)
                await journal.enregistrer(consultation, _decision(consultation))
        finally:
            await engine.dispose()

    asyncio.run(seed())
    code, out, err = run(capsys, "journal", "purge", "--mois", "2")
    assert code == 2
    assert "JOURNAL_RETENTION_MONTHS=36" in err
    assert "--force" in err
    assert _lignes(database) == (2, 2)
    code, out, _ = run(capsys, "journal", "purge", "--mois", "2", "--force", "--dry-run")
    assert code == 0
    assert "consultations : 1" in out
    assert _lignes(database) == (2, 2)
    code, out, _ = run(capsys, "journal", "purge", "--mois", "2", "--force")
    assert code == 0
    assert "consultations : 1" in out
    assert _lignes(database) == (1, 1)
    # Above the configured retention, no --force is needed.
    monkeypatch.setenv("JOURNAL_RETENTION_MONTHS", "1")
    get_settings.cache_clear()
    code, out, _ = run(capsys, "journal", "purge", "--mois", "1")
    assert code == 0
    assert _lignes(database) == (1, 1)


def test_purge_refuses_to_run_while_another_holds_the_lock(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "db", "upgrade")
    _seed_today(database, 1)

    async def pendant_une_autre_purge() -> int:
        engine = create_engine_from_url(database)
        try:
            async with purge_lock(engine):
                return await asyncio.to_thread(cli.main, ["journal", "purge", "--mois", "36"])
        finally:
            await engine.dispose()

    assert asyncio.run(pendant_une_autre_purge()) == cli.CODE_PURGE_EN_COURS
    assert "Une autre purge du journal est en cours" in capsys.readouterr().err
    # Once released, the purge runs.
    code, _, _ = run(capsys, "journal", "purge")
    assert code == 0


def test_progress_bar_shows_on_long_purges_only() -> None:
    flux = io.StringIO()
    barre = cli.BarreProgression(flux)
    barre(10, 10)
    assert flux.getvalue() == ""  # one batch: no bar
    barre = cli.BarreProgression(flux)
    barre(5000, 12000)
    barre(10000, 12000)
    barre(12000, 12000)
    assert flux.getvalue().split("\r")[1:] == [
        "[" + "#" * 12 + "." * 18 + "] 5000/12000 consultations",
        "[" + "#" * 25 + "." * 5 + "] 10000/12000 consultations",
        "[" + "#" * 30 + "] 12000/12000 consultations\n",
    ]


def test_an_invalid_setting_is_one_french_line_and_exit_code_2(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_MODE", "production")
    monkeypatch.setenv("PORT", "huit-mille")
    get_settings.cache_clear()
    code, _, err = run(capsys, "serve")
    assert code == cli.CODE_CONFIGURATION_INVALIDE == 2
    lignes = err.strip().splitlines()
    assert lignes == ["configuration invalide : PORT : un nombre entier attendu (reçu « huit-mille »)"]
    monkeypatch.setenv("PORT", "8000")
    get_settings.cache_clear()
    code, _, err = run(capsys, "organisme", "list")
    assert code == 2
    lignes = err.strip().splitlines()
    assert all(ligne.startswith("configuration invalide : ") for ligne in lignes)
    assert [ligne.split(" : ")[1] for ligne in lignes] == [
        "GATEWAY_SECRET_KEY",
        "API_PARTICULIER_URL",
        "CACHE_ENCRYPTION_KEYS",
        "DATABASE_URL",
    ]
    assert "Traceback" not in err


#: A PostgreSQL URL nobody listens on (port 1 of the loopback): refused at once.
BASE_INJOIGNABLE = "postgresql://gateway:motdepasse@127.0.0.1:1/gateway"


@pytest.mark.parametrize("commande", [["serve"], ["db", "upgrade"], ["organisme", "list"]])
def test_an_unreachable_journal_is_one_line_and_exit_code_4(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, commande: list[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", BASE_INJOIGNABLE)
    get_settings.cache_clear()
    code, _, err = run(capsys, *commande)
    assert code == cli.CODE_BASE_INJOIGNABLE == 4
    [ligne] = err.strip().splitlines()
    assert ligne.startswith(
        "erreur : base du journal injoignable (postgresql://gateway:***@127.0.0.1:1/gateway) : "
    )
    assert "motdepasse" not in err


def test_db_upgrade_needs_only_the_database_url(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production with none of the provider settings, keys or secrets it requires to serve.
    monkeypatch.setenv("GATEWAY_MODE", "production")
    get_settings.cache_clear()
    code, out, err = run(capsys, "db", "upgrade")
    assert code == 0, err
    assert "Base du journal à jour." in out


def test_serve_says_where_it_listens_and_with_what(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lance: dict[str, object] = {}
    monkeypatch.setattr(cli, "serve_workers", lambda app, **options: lance.update(options))
    monkeypatch.setenv("LOG_JSON", "true")
    monkeypatch.setenv("REDIS_URL", "redis://:secret-redis@127.0.0.1:6379/15")
    get_settings.cache_clear()
    code, _, err = run(capsys, "serve", "--port", "8123")
    assert code == 0
    assert lance["port"] == 8123
    [evenement] = [json.loads(ligne) for ligne in err.splitlines() if "gateway.starting" in ligne]
    assert evenement["ecoute"] == "http://127.0.0.1:8123"
    assert evenement["mode"] == "sandbox"
    assert evenement["journal"].startswith("sqlite (")
    assert evenement["cache"] == "redis (127.0.0.1:6379/15)"
    assert evenement["api_particulier"] == "simulateur intégré"
    assert "secret-redis" not in err


def test_client_list_and_revoking_one_key_leaves_the_others(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
        "--reglement", "demo.yaml")  # fmt: skip
    _, out, _ = run(
        capsys, "client", "create", "--organisme", "ccas-a", "--id", "logiciel", "--scopes", "eligibilite"
    )
    [premiere] = KEY.findall(out)
    _, out, _ = run(capsys, "key", "rotate", "--client", "logiciel", "--chevauchement", "7d")
    [seconde] = KEY.findall(out)

    code, liste, _ = run(capsys, "client", "list", "--organisme", "ccas-a")
    assert code == 0
    assert liste.startswith("logiciel  organisme ccas-a  (actif)  droits : eligibilite")
    assert f"clé {premiere[:10]}…" in liste
    assert f"clé {seconde[:10]}…" in liste
    assert premiere not in liste

    code, out, _ = run(capsys, "key", "revoke", "--client", "logiciel", "--prefixe", premiere[:10])
    assert code == 0
    assert "1 clé(s)" in out
    assert asyncio.run(_authentifier(database, premiere)) is None
    assert asyncio.run(_authentifier(database, seconde)) == "logiciel"

    code, _, err = run(capsys, "key", "revoke", "--client", "logiciel", "--prefixe", premiere[:10])
    assert code == 2
    assert "Aucune clé valide" in err
    _, liste, _ = run(capsys, "client", "list", "--organisme", "autre")
    assert liste == ""


def _sous_commandes(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sous in action.choices.values():
                yield from _sous_commandes(sous)


def test_every_option_has_help(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[argparse.ArgumentParser] = []
    original = argparse.ArgumentParser.parse_args

    def capture(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> object:
        captured.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", original)

    sans_aide = [
        f"{p.prog} {a.dest}"
        for p in _sous_commandes(captured[0])
        for a in p._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction) and not a.help
    ]
    commandes = [p.prog for p in _sous_commandes(captured[0])]
    assert len(commandes) > 15
    assert sans_aide == []


def test_reglements_verifier_accepts_one_file(capsys: pytest.CaptureFixture[str]) -> None:
    fichier = get_settings().reglements_dir / "demo.yaml"

    code, out, _ = run(capsys, "reglements", "verifier", str(fichier))

    assert code == 0
    assert out.count("\n") == 1
    assert out.startswith(f"OK {fichier}")


def test_organisme_coordonnees_are_set_merged_cleared_and_bounded(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "organisme", "create", "--id", "ccas-a", "--nom", "CCAS A", "--siret", SIRET_A,
        "--reglement", "demo.yaml",
    )  # fmt: skip
    assert code == 0, out
    code, out, _ = run(
        capsys, "organisme", "coordonnees", "ccas-a",
        "--adresse", "CCAS A\\n1 place de la Mairie\\n75001 PARIS", "--dpo", "dpo@a.invalid",
    )  # fmt: skip
    assert code == 0, out
    assert "adresse : CCAS A / 1 place de la Mairie / 75001 PARIS" in out
    code, out, _ = run(capsys, "organisme", "coordonnees", "ccas-a", "--signataire", "La directrice")
    assert code == 0
    assert "dpo : dpo@a.invalid" in out  # kept
    assert "signataire : La directrice" in out
    code, out, _ = run(capsys, "organisme", "coordonnees", "ccas-a", "--dpo", "")
    assert "dpo :" not in out  # cleared

    code, _, err = run(capsys, "organisme", "coordonnees", "ccas-a", "--telephone", "0" * 41)
    assert code == 2
    assert "40 caractères au plus" in err
    code, _, err = run(capsys, "organisme", "coordonnees", "ccas-a", "--adresse", "\\n".join("l" * 8))
    assert code == 2
    assert "7 lignes au plus" in err
    code, _, err = run(capsys, "organisme", "coordonnees", "ccas-inconnu", "--dpo", "x")
    assert code == 2
    assert "inconnu" in err
