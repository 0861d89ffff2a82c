import pytest
from virtualkey.key import KeyConfig

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWOTP_CACHE_DIR", str(tmp_path / "cache"))

def show(r):
    print("EXIT", r.exit_code, "\nOUT:", r.stdout, "\nERR:", r.stderr)

def test_nopcscd(hwotp):
    for args in (["keys"], ["list"], ["code"], ["list", "--no-vault"], ["enroll", "--secret", SECRET, "--account", "a"]):
        print(args); show(hwotp(*args))

def test_old(hwotp, plug_keys):
    rig = plug_keys(KeyConfig(serial=42, firmware=(4, 2, 6)))
    show(hwotp("keys"))
    show(hwotp("enroll", "--secret", SECRET, "--account", "a", "--algorithm", "SHA512"))
    show(hwotp("enroll", "--secret", SECRET, "--account", "a"))
    print(rig.keys[0].oath.credentials)

def test_pulled(hwotp, plug_keys):
    rig = plug_keys(KeyConfig(serial=42))
    rig.bridge(42).pull_out()
    import time; time.sleep(1)
    for args in (["keys"], ["list"], ["code"], ["list", "--no-vault"], ["enroll", "--secret", SECRET, "--account", "a"]):
        print(args); show(hwotp(*args))

def test_count(hwotp, plug_keys):
    rig = plug_keys(KeyConfig(serial=42))
    k = rig.keys[0]
    show(hwotp("code"))
    for r in k.log.records: print(r)
    k.log.clear()
    show(hwotp("code"))
    for r in k.log.records: print(r)
    k.log.clear()
    show(hwotp("enroll", "--no-touch", "--secret", SECRET, "--account", "a"))
    for r in k.log.records: print(r)
