from test_yubikey_cli import *  # noqa
from test_yubikey_cli import key_cache  # noqa

def show(r):
    print("EXIT", r.exit_code, "\nOUT:", r.stdout, "\nERR:", r.stderr)

def test_deny(hwotp, plug_keys):
    rig = plug_keys(KeyConfig(serial=ONE, touch="deny", touch_timeout=0.3))
    show(hwotp("enroll", "--uri", GITHUB))
    print(rig.keys[0].oath.credentials)
    show(hwotp("enroll", "--uri", GITHUB))

def test_rename_taken(hwotp, plug_keys):
    rig = plug_keys(KeyConfig(serial=ONE))
    put(rig.keys[0], "a", "X"); put(rig.keys[0], "b", "X")
    show(hwotp("rename", "X:a", "X:b"))
    show(hwotp("rename", "X:a", "X:" + "b" * 70))
    show(hwotp("enroll", "--uri", "otpauth://hotp/Bank:bob?secret=%s&issuer=Bank&counter=5" % SECRET, "--no-touch"))
    show(hwotp("code", "bank"))
    print(pyotp.HOTP(SECRET).at(5), pyotp.HOTP(SECRET).at(6))
