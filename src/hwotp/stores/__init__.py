"""Places that hold credentials, all answering the `Store` protocol."""

from hwotp.stores.base import Store

__all__ = ["Store"]
