#!/usr/bin/env bash
# Sets everything up, then does the main job once: enrols the sample MFA screenshot in
# examples/ into a throwaway vault (never onto a YubiKey, even with one plugged in) and prints
# its code, checked against pyotp.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
export HWOTP_VAULT="$workdir/demo-vault.hwotp"
export HWOTP_PASSPHRASE="demo passphrase, throwaway vault"  # a real vault asks at the terminal

echo "demo: hwotp enroll --qr examples/mfa-setup-page.png --in-vault"
.venv/bin/hwotp enroll --qr examples/mfa-setup-page.png --in-vault
echo "demo: hwotp list"
.venv/bin/hwotp list
echo "demo: hwotp code example"
.venv/bin/hwotp code example
echo "demo: the same code computed by pyotp from the demo secret (an independent check):"
.venv/bin/python -c 'import pyotp; print(pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now())'
