"""FIDO2 security keys over USB HID and PC/SC (NFC readers), through python-fido2: discovery
and choice by serial or path, the PIN, and the answers a key gives turned into hwotp errors.

May import the model only (errors); the commands above decide what to ask and print.
"""
