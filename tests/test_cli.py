"""The administrative command line on a real SQLite database: organismes, clients, keys printed once,
rotation, revocation and the journal purge report."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import cli
from app.config import Settings, get_settings
from app.db.engine import create_engine_from_url
from app.services.journal import Journal
from app.services.organismes import AnnuaireOrganismes, ChiffrementSecrets
from tests.organismes import SIRET_A
from tests.services.journal.test_ecriture import _consultation, _decision

KEY = re.compile(r"^eg_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GATEWAY_MODE", "sandbox")
    monkeypatch.setenv("ORGANISME_API_PARTICULIER_TOKEN", "jeton-du-ccas")
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
        settings = Settings(_env_file=None, database_url=url)
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
        "--reglement", "demo.yaml", "--habilitation", "cnaf_quotient_familial,cnaf_enfants",
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
    assert "cnaf_enfants, cnaf_quotient_familial" in out
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
