"""A software CTAP 2.1 authenticator (the FIDO2 side of the virtual YubiKey).

Written against ``cryptography`` and its own CBOR code, never python-fido2, so that the tests
check python-fido2's client against an independent implementation.
"""
