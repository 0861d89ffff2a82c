"""What several test files share, one home each: `samples` (the test secrets, passphrase, fixed
clock and pyotp's codes for them), `cli` (checks on a hwotp run), `keys` (virtual keys through
yubikit and pcscd), `processes` (the installed script and other Python processes) and
`migration` (Google Authenticator exports built with protobuf).

Fixtures live in tests/conftest.py; a test file never imports another test file
(test_layout.py holds that).
"""
