"""`--remember`: a YubiKey's derived OATH access key in the OS keyring, as ykman keeps it.

The key (PBKDF2 of the password, not the password) is stored under the OATH device id. No
keyring, or one that fails, means nothing is remembered: the password is asked as before.
"""

from __future__ import annotations

SERVICE = "hwotp: YubiKey OATH access key"


def recall(device_id: str) -> bytes | None:
    try:
        import keyring

        stored = keyring.get_password(SERVICE, device_id)
        return bytes.fromhex(stored) if stored else None
    except Exception:
        return None


def remember(device_id: str, access_key: bytes) -> bool:
    """True when the keyring took it."""
    try:
        import keyring

        keyring.set_password(SERVICE, device_id, access_key.hex())
    except Exception:
        return False
    return True


def forget(device_id: str) -> None:
    try:
        import keyring

        keyring.delete_password(SERVICE, device_id)
    except Exception:
        pass
