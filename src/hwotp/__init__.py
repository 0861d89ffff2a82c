"""hwotp: one-time codes from QR screenshots, kept in hardware keys or an encrypted vault.

Layers, top to bottom (each may import only those below it; pyproject.toml's import-linter
contract holds it): `cli` -> `usecases` -> `stores` -> `yubikey` | `vault` -> `formats` |
`inputs` -> the model (`credential`, `otp`, `secret`, `errors`). docs/architecture.md has more.
"""

__version__ = "0.1.0"
