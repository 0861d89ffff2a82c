"""Places that hold credentials, all answering the `Store` protocol: the vault and YubiKeys.

May import the vault, the yubikey devices and the model; the use cases above work through the
protocol, never through a store's type.
"""

from hwotp.stores.base import Store

__all__ = ["Store"]
