"""A software YubiKey 5 for the tests: card, management, OATH and FIDO2 applets, in-process
transports and a bridge into a private pcscd. It never imports hwotp. See docs/testing.md."""
