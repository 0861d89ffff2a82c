"""What one CTAP request carries besides its parameters: the transport's keepalive and cancel
hooks, and the user-presence wait that uses them. Also typed access to request parameters."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..presence import Presence
from .status import STATUS_UPNEEDED, CtapFailure, CtapStatus

KEEPALIVE_INTERVAL = 0.1  # CTAPHID asks for a keepalive at least every 100 ms


def never_cancelled() -> bool:
    return False


def ignore_keepalive(status: int) -> None:
    return None


@dataclass
class Interaction:
    keepalive: Callable[[int], None] = ignore_keepalive
    cancelled: Callable[[], bool] = never_cancelled

    def wait_for_presence(self, presence: Presence, deny_status: int) -> None:
        """Returns once the user touched the key; KEEPALIVE_CANCEL if the platform cancelled,
        ``deny_status`` if nobody touched in time."""
        last = 0.0

        def waiting() -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= KEEPALIVE_INTERVAL:
                last = now
                self.keepalive(STATUS_UPNEEDED)

        if presence.wait(self.cancelled, waiting):
            return
        if self.cancelled():
            raise CtapFailure(CtapStatus.KEEPALIVE_CANCEL, "the platform cancelled the touch wait")
        raise CtapFailure(deny_status, "no user presence")


def required(params: Mapping[Any, Any], key: Any, kind: type | tuple[type, ...]) -> Any:
    """A parameter that must be there (MISSING_PARAMETER) with this type (CBOR_UNEXPECTED_TYPE)."""
    if key not in params:
        raise CtapFailure(CtapStatus.MISSING_PARAMETER, f"parameter {key!r} missing")
    return optional(params, key, kind)


def optional(
    params: Mapping[Any, Any], key: Any, kind: type | tuple[type, ...], default: Any = None
) -> Any:
    value = params.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, f"parameter {key!r} has the wrong type")
    # bool is an int in Python, but not in CBOR
    if isinstance(value, bool) and kind is int:
        raise CtapFailure(CtapStatus.CBOR_UNEXPECTED_TYPE, f"parameter {key!r} has the wrong type")
    return value
