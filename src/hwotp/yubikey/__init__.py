"""YubiKeys over PC/SC: discovery and choice by serial, hwotp's own PC/SC connection, the OATH
wire path that bypasses yubikit for bulk codes, the key cache and the keyring memory.

May import the model only; the stores above turn what it returns into entries and codes.
"""
