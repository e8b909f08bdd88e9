"""`kiosk identity new|csr|show` and the doctor's identity check, with certificates from the product's own district CA."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509

from hub import ca
from kiosk import cli, identity
from kiosk.config import build
from kiosk.doctor import check_identity
from wire import signature

from . import pki

KIOSK = "kiosk-a"


def run(capsys, monkeypatch, *argv: str, kiosk: str = KIOSK, **hub: str) -> tuple[int, str, str]:
    """`kiosk ARGV` with kiosk.id and hub settings from the environment (no config file)."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("KIOSK_KIOSK_ID", kiosk)
    for key, value in hub.items():
        monkeypatch.setenv(f"KIOSK_HUB_{key.upper()}", value)
    code = cli.main(["--config", "/dev/null", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ok__identity_new_makes_a_private_key_and_prints_a_csr_for_the_kiosk(capsys, monkeypatch, tmp_path):
    key = tmp_path / "credentials" / "kiosk-key"
    code, out, err = run(capsys, monkeypatch, "identity", "new", "--key", str(key))
    assert code == 0 and key.stat().st_mode & 0o777 == 0o600 and "hub enroll kiosk-a" in err
    csr = ca.read_csr(out.encode())  # the hub's own check: signature holds, P-256
    assert csr.subject.rfc4514_string() == "CN=kiosk-a"
    assert signature.key_id(csr.public_key()) == signature.key_id(signature.load_private_key(key).public_key())
    assert signature.key_id(csr.public_key()) in err
    assert "PRIVATE" not in out + err


def test_fail__identity_new_keeps_an_existing_key_unless_forced(capsys, monkeypatch, tmp_path):
    key = tmp_path / "kiosk-key"
    assert run(capsys, monkeypatch, "identity", "new", "--key", str(key), "--csr", str(tmp_path / "a.csr"))[0] == 0
    before = key.read_bytes()
    code, _, err = run(capsys, monkeypatch, "identity", "new", "--key", str(key))
    assert code == 2 and "already holds a key" in err and "--force" in err and key.read_bytes() == before
    assert run(capsys, monkeypatch, "identity", "new", "--key", str(key), "--force", "--csr", str(tmp_path / "b.csr"))[0] == 0
    assert key.read_bytes() != before and key.stat().st_mode & 0o777 == 0o600


def test_ok__identity_csr_asks_again_for_the_same_key(capsys, monkeypatch, tmp_path):
    key = tmp_path / "kiosk-key"
    run(capsys, monkeypatch, "identity", "new", "--key", str(key), "--csr", str(tmp_path / "first.csr"))
    code, out, _ = run(capsys, monkeypatch, "identity", "csr", "--key", str(key))
    first = ca.read_csr((tmp_path / "first.csr").read_bytes())
    assert code == 0 and signature.key_id(ca.read_csr(out.encode()).public_key()) == signature.key_id(first.public_key())
    assert run(capsys, monkeypatch, "identity", "csr", "--key", str(tmp_path / "none"))[0] == 2


def certified(tmp_path: Path, kiosk: str = KIOSK, now: datetime | None = None) -> pki.Identity:
    """A kiosk key and the certificate the district CA in tmp_path/ca issued for it at ``now``."""
    if not (tmp_path / "ca" / "ca.key").exists():
        pki.district_ca(tmp_path / "ca")
    made = pki.identity(tmp_path / "keys", kiosk)
    issued = ca.issue(ca.load(tmp_path / "ca"), ca.read_csr(made.csr.read_bytes()), kiosk, now or datetime.now(timezone.utc))
    made.cert.write_bytes(ca.pem(issued))
    return made


def test_ok__identity_show_names_the_key_and_its_certificate(capsys, monkeypatch, tmp_path):
    made = certified(tmp_path)
    code, out, _ = run(capsys, monkeypatch, "identity", "show", "--key", str(made.key), "--json", cert_file=str(made.cert),
                       ca_file=str(tmp_path / "ca" / "ca.crt"))
    shown = json.loads(out)
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    assert code == 0 and shown["problems"] == [] and shown["matches_key"] is True
    assert (shown["subject"], shown["issuer"]) == ("CN=kiosk-a", "CN=vax district CA")
    assert shown["serial"] == format(cert.serial_number, "x")
    assert shown["key_id"] == signature.key_id(signature.load_private_key(made.key).public_key())
    monkeypatch.delenv("KIOSK_HUB_CERT_FILE")
    code, out, _ = run(capsys, monkeypatch, "identity", "show", "--key", str(made.key))
    assert code == 0 and "key_id" in out and "subject" not in out


def test_fail__identity_show_says_when_the_certificate_is_for_another_key_or_kiosk(capsys, monkeypatch, tmp_path):
    made, other = certified(tmp_path), certified(tmp_path, "kiosk-b")
    code, out, _ = run(capsys, monkeypatch, "identity", "show", "--key", str(made.key), cert_file=str(other.cert))
    assert code == 1 and "matches_key no" in out and "does not certify the key" in out and "is for kiosk 'kiosk-b'" in out


def config(tmp_path: Path, made: pki.Identity | None, **hub: str):
    values = {"broker": "mqtts://hub.example:8883", **hub}
    if made is not None:
        values.update(key_file=str(made.key), cert_file=str(made.cert))
    return build({"kiosk": {"id": KIOSK, "db": str(tmp_path / "kiosk.db")}, "hub": values})


def test_ok__doctor_passes_a_key_and_certificate_that_go_together(tmp_path):
    made = certified(tmp_path)
    check = check_identity(config(tmp_path, made, ca_file=str(tmp_path / "ca" / "ca.crt")))
    assert check.ok and "certificate for kiosk-a until" in check.detail, check.detail
    assert check_identity(build({"kiosk": {"id": KIOSK}})).ok  # no broker: nothing to check yet
    key_only = build({"kiosk": {"id": KIOSK}, "hub": {"broker": "mqtt://127.0.0.1:1883", "key_file": str(made.key)}})
    assert check_identity(key_only).ok and "no certificate" in check_identity(key_only).detail


@pytest.mark.parametrize("case, says", [
    ("no key", "kiosk identity new"),
    ("unreadable key", "cannot read the kiosk key"),
    ("another kiosk's certificate", "is for kiosk 'kiosk-b'"),
    ("another CA", "was not issued by the CA"),
    ("expiring", "re-enroll the kiosk before then"),
    ("expired", "expired on"),
])
def test_fail__doctor_says_what_is_wrong_with_the_identity(tmp_path, case, says):
    made = certified(tmp_path)
    issued_at = datetime.now(timezone.utc)
    end = x509.load_pem_x509_certificate(made.cert.read_bytes()).not_valid_after_utc
    now = {"expiring": end - timedelta(days=10), "expired": end + timedelta(days=1)}.get(case, issued_at)
    settings = config(tmp_path, made)
    if case == "no key":
        settings = build({"kiosk": {"id": KIOSK}, "hub": {"broker": "mqtts://hub.example:8883"}})
    elif case == "unreadable key":
        settings = settings.replace("hub", key_file=str(tmp_path / "missing-key"))
    elif case == "another kiosk's certificate":
        settings = settings.replace("hub", key_file=str(certified(tmp_path, "kiosk-b").key),
                                    cert_file=str(tmp_path / "keys" / "kiosk-b.crt"))
    elif case == "another CA":
        pki.district_ca(tmp_path / "other-ca")
        settings = settings.replace("hub", ca_file=str(tmp_path / "other-ca" / "ca.crt"))
    check = check_identity(settings, now)
    assert not check.ok and says in check.detail, check.detail
    assert "PRIVATE" not in check.detail


def test_ok__the_default_key_path_is_the_credential_kiosk_publish_loads():
    unit = (Path(__file__).resolve().parent.parent / "systemd" / "kiosk-publish.service").read_text()
    assert f"LoadCredential=kiosk-key:{identity.DEFAULT_KEY_FILE}" in unit
