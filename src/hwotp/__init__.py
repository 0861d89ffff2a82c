"""hwotp: one-time codes from QR screenshots, kept in hardware keys or an encrypted vault."""

__version__ = "0.1.0"
