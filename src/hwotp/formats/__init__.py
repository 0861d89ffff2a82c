"""Pure parsers and writers of the texts that carry credentials: otpauth URIs, Google
Authenticator exports, the classification of a decoded QR payload, and (in `imports/`) the
export files of other authenticator apps.

May import the model (`hwotp.credential`, `hwotp.otp`, `hwotp.secret`, `hwotp.errors`) only: no
I/O, no devices, no vault.
"""
