"""Arbitrary input ends in a result or an InputError, never in any other exception."""

from __future__ import annotations

import contextlib
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwotp.errors import InputError
from hwotp.formats.payload import read_payload
from hwotp.inputs import qr
from hwotp.secret import decode_secret

URI_ALPHABET = string.ascii_letters + string.digits + ":/?&=%+-_.~ #;,@!$'()*"
PARAMETERS = ["secret", "issuer", "digits", "period", "counter", "algorithm", "type", "x"]


@st.composite
def otpauth_like(draw: st.DrawFn) -> str:
    """Near-valid URIs: the parser's hard cases, not just random noise."""
    kind = draw(st.sampled_from(["totp", "hotp", "TOTP", "", "x"]))
    label = draw(st.text(URI_ALPHABET, max_size=30))
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(PARAMETERS), st.text(URI_ALPHABET, max_size=40)),
            max_size=6,
        )
    )
    query = "&".join(f"{k}={v}" for k, v in pairs)
    scheme = draw(st.sampled_from(["otpauth://", "OTPAUTH://", "otpauth-migration://", "", "x:"]))
    return f"{scheme}{kind}/{label}?{query}"


@settings(max_examples=600, deadline=None)
@given(st.one_of(otpauth_like(), st.text(max_size=200)))
def test_payloads_parse_or_refuse(text: str) -> None:
    try:
        decoded = read_payload(text)
    except InputError as refusal:
        assert "\n" not in str(refusal)
    else:
        assert decoded.credentials


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_secrets_decode_or_refuse(text: str) -> None:
    try:
        assert decode_secret(text)
    except InputError as refusal:
        # The message never repeats what was typed (short texts may match its wording).
        assert len(text.strip()) < 8 or text.strip() not in str(refusal)


PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300), st.sampled_from([b"", PNG_HEAD, b"\xff\xd8\xff\xe0", b"GIF89a"]))
def test_any_bytes_as_an_image_end_in_input_error(
    tmp_path_factory, data: bytes, head: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "shot.png"
    path.write_bytes(head + data)
    with contextlib.suppress(InputError):
        assert qr.decode_file(path)  # nothing decodes to an empty list
