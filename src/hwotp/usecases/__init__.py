"""What a user asks for, on any store: credentials from a QR image, a URI or a setup key
(`sources`), enrol and prove (`enroll`), find and compute codes (`codes`), check the system
(`doctor`).

May import stores, devices, vault, formats, inputs and the model; never the command line.
"""
