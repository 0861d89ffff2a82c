"""The vault file format: test vector, tamper and damage detection, bounds, canonical form.

Real scrypt parameters throughout. The expensive key derivation runs a handful of times; the
per-flip checks reuse the derived key through `open_master_key`'s `derive` hook.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from hwotp.credential import Algorithm, Credential, Kind
from hwotp.errors import ExitCode, VaultDamagedError, WrongPassphraseError
from hwotp.vault import Vault
from hwotp.vault import format as fmt

DOC = Path(__file__).resolve().parents[1] / "docs" / "vault-format.md"
PASSPHRASE = "correct horse battery staple"  # the test vector's, in DOC
REJECTED = (WrongPassphraseError, VaultDamagedError)


def _credential(n: int = 0) -> Credential:
    return Credential(secret=b"Hello!\xde\xad\xbe\xef" + bytes([n]), issuer="Ex", account=f"{n}")


def _with_trailer(body: bytes) -> bytes:
    """A deliberate edit: whoever changes the file can recompute the plain-hash trailer."""
    return body + hashlib.sha256(body).digest()


def _body(data: bytes) -> bytes:
    return data[: -fmt.TRAILER_BYTES]


def _open(data: bytes, passphrase: str, derive: fmt.Deriver) -> fmt.Payload:
    envelope = fmt.parse(data)
    master_key, _ = fmt.open_master_key(envelope, passphrase, derive)
    return fmt.decrypt(envelope, master_key)


class Small:
    """A one-credential vault built once, with its slot's derived key kept for the tests."""

    def __init__(self) -> None:
        self.master_key = fmt.new_master_key()
        draft = {"id": "01234567", "n": fmt.SCRYPT_N, "nonce": fmt.b64(bytes(12)), "p": 1}
        draft |= {"r": 8, "salt": fmt.b64(b"s" * 16), "type": "scrypt"}
        self.params = (fmt.SCRYPT_N, 8, 1, b"s" * 16)
        slot = fmt.ScryptSlot("01234567", *self.params, bytes(12), b"", draft)
        self.kek = fmt.scrypt_kek(PASSPHRASE, slot)  # the one scrypt run for the flip tests
        self.slot = fmt.wrap(self.kek, self.master_key, draft)
        self.data = fmt.seal([self.slot], self.master_key, fmt.Payload([_credential()]))
        self.stand_ins = 0

    def derive(self, passphrase: str, slot: fmt.ScryptSlot) -> bytes:
        """The real key for the real salt and cost; for a changed salt or cost, any other key.

        A different salt or cost gives scrypt output unrelated to `kek`; a fixed different key
        stands in for it (sampled flips run real scrypt in `test_slot_flips_full_unlock`).
        """
        assert passphrase == PASSPHRASE
        if (slot.n, slot.r, slot.p, slot.salt) == self.params:
            return self.kek
        self.stand_ins += 1
        return hashlib.sha256(b"stand-in" + slot.salt + bytes([slot.p])).digest()


@pytest.fixture(scope="module")
def small() -> Small:
    return Small()


def _flipped(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- test vector ------------------------------------------------------------------------------


def _doc_vector(marker: str = "test-vector") -> bytes:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker}:.*?-->\n```text\n(.*?)```", text, re.S)
    assert block, "the test vector block is missing from docs/vault-format.md"
    return base64.b64decode("".join(block.group(1).split()))


@pytest.mark.parametrize(
    ("marker", "generation"), [("test-vector", 0), ("test-vector-generation", 1)]
)
def test_vector_opens_and_is_reproduced(marker: str, generation: int) -> None:
    """The first vector is a file of an hwotp before generations; the second has one."""
    data = _doc_vector(marker)
    keks = []

    def derive(passphrase: str, slot: fmt.ScryptSlot) -> bytes:
        keks.append(fmt.scrypt_kek(passphrase, slot))
        return keks[-1]

    envelope = fmt.parse(data)
    master_key, slot_id = fmt.open_master_key(envelope, PASSPHRASE, derive)
    assert master_key == bytes(range(32))
    assert slot_id == "0a0b0c0d"
    assert keks[0].hex() in DOC.read_text(encoding="utf-8")
    payload = fmt.decrypt(envelope, master_key)
    expected = Credential(
        secret=base64.b32decode("JBSWY3DPEHPK3PXP"), issuer="Example", account="alice@example.com"
    )
    assert payload.credentials == [expected]
    assert payload.generation == generation
    # Writing the same inputs gives the same bytes (wrap with the derived key: no 2nd scrypt).
    slot = dict(envelope.header.slots[0])
    del slot["key"]
    rewrapped = fmt.wrap(keks[0], master_key, slot)
    assert fmt.seal([rewrapped], master_key, payload, nonce=bytes(range(0xC0, 0xCC))) == data


def test_file_layout(small: Small) -> None:
    line, newline, rest = small.data.partition(b"\n")
    assert line.startswith(b'{"format":"hwotp-vault"')
    assert json.loads(line)["version"] == 1
    assert len(rest) == 256 + 16 + 32  # padded plaintext, tag, trailer
    assert rest[-32:] == hashlib.sha256(line + newline + rest[:-32]).digest()


def test_round_trip_of_every_field(small: Small) -> None:
    credentials = [
        Credential(secret=bytes(range(20)), issuer="", account="only account"),
        Credential(
            secret=b"\x00" * 64,
            issuer="Ünïcödé ✓",
            account='quote " backslash \\ slash /',
            kind=Kind.HOTP,
            algorithm=Algorithm.SHA512,
            digits=8,
            period=60,
            counter=2**40,
        ),
        Credential(secret=b"x", issuer="i", account="", algorithm=Algorithm.SHA256, digits=7),
    ]
    data = fmt.seal([small.slot], small.master_key, fmt.Payload(credentials))
    assert _open(data, PASSPHRASE, small.derive).credentials == credentials


# --- damage and tampering ---------------------------------------------------------------------


def test_every_bit_flip_is_damage(small: Small, tmp_path: Path) -> None:
    """Accidental damage: the trailer catches each flip before any key derivation."""
    path = tmp_path / "vault.hwotp"
    for bit in range(len(small.data) * 8):
        path.write_bytes(_flipped(small.data, bit))
        with pytest.raises(VaultDamagedError, match="damaged or was modified"):
            Vault.unlock(path, PASSPHRASE)


def _outcome(small: Small, data: bytes) -> type[Exception]:
    try:
        _open(data, PASSPHRASE, small.derive)
    except REJECTED as err:
        return type(err)
    raise AssertionError("a modified vault opened")


def test_every_deliberate_bit_flip_is_rejected(small: Small) -> None:
    """Each flip with the trailer recomputed: rejected, and never by another exception."""
    body = _body(small.data)
    slot_span = _span(body, canonical=fmt.canonical_json(small.slot))
    for bit in range(len(body) * 8):
        outcome = _outcome(small, _with_trailer(_flipped(body, bit)))
        if not slot_span[0] <= bit // 8 < slot_span[1]:
            # Outside the passphrase slot an edit is always reported as damage.
            assert outcome is VaultDamagedError, bit
    assert small.stand_ins > 0  # some salt edits reached key derivation


def _span(body: bytes, canonical: bytes) -> tuple[int, int]:
    start = body.index(canonical)
    return start, start + len(canonical)


def test_slot_flips_full_unlock(small: Small, tmp_path: Path) -> None:
    """A sample of slot edits that get past parsing, through real unlock and real scrypt."""
    body = _body(small.data)
    start, end = _span(body, fmt.canonical_json(small.slot))
    parsable = []
    for bit in range(start * 8, end * 8):
        try:
            fmt.parse(_with_trailer(_flipped(body, bit)))
        except VaultDamagedError:
            continue
        parsable.append(bit)
    salt_at = body.index(b'"salt":"') + len(b'"salt":"')
    salt_bits = [b for b in parsable if salt_at <= b // 8 < body.index(b'"', salt_at)]
    sample = random.Random(7).sample(salt_bits, 3) + random.Random(8).sample(parsable, 3)
    path = tmp_path / "vault.hwotp"
    for bit in sample:
        path.write_bytes(_with_trailer(_flipped(body, bit)))
        with pytest.raises(WrongPassphraseError):
            Vault.unlock(path, PASSPHRASE)


def test_every_truncation_and_extension_is_damage(small: Small) -> None:
    for length in range(len(small.data)):
        with pytest.raises(VaultDamagedError):
            fmt.parse(small.data[:length])
    with pytest.raises(VaultDamagedError):
        fmt.parse(small.data + b"\n")
    with pytest.raises(VaultDamagedError):
        fmt.parse(b"\x00" * (fmt.MAX_FILE_BYTES + 1))


def test_payload_of_another_vault_is_damage(small: Small) -> None:
    other = fmt.seal([small.slot], fmt.new_master_key(), fmt.Payload([]))
    with pytest.raises(VaultDamagedError):
        _open(other, PASSPHRASE, small.derive)


def test_slot_moved_to_another_vault_is_damage(small: Small) -> None:
    """The slot opens, but the payload was sealed under a different master key."""
    other_key = fmt.new_master_key()
    data = fmt.seal([small.slot], other_key, fmt.Payload([_credential()]))
    with pytest.raises(VaultDamagedError):
        _open(data, PASSPHRASE, small.derive)


def test_wrong_passphrase(small: Small) -> None:
    def wrong(passphrase: str, slot: fmt.ScryptSlot) -> bytes:
        return hashlib.sha256(passphrase.encode()).digest()

    envelope = fmt.parse(small.data)
    with pytest.raises(WrongPassphraseError) as caught:
        fmt.open_master_key(envelope, "hunter2", wrong)
    assert str(caught.value) == "wrong passphrase"
    assert caught.value.exit_code is ExitCode.WRONG_PASSPHRASE


# --- header rules -----------------------------------------------------------------------------


def _header_file(header: object, ciphertext: bytes = bytes(300)) -> bytes:
    return _with_trailer(fmt.canonical_json(header) + b"\n" + ciphertext)


def _header(small: Small, **changes: object) -> dict[str, object]:
    value = json.loads(small.data.partition(b"\n")[0])
    return value | changes


def _scrypt(small: Small, **changes: object) -> dict[str, object]:
    return {**small.slot, **changes}


def _never(passphrase: str, slot: fmt.ScryptSlot) -> bytes:
    raise AssertionError("key derivation ran for a rejected file")


@pytest.mark.parametrize(
    "changes",
    [
        {"n": 2**16},
        {"n": 2**21},
        {"n": 2**30},
        {"n": 3 * 2**17},
        {"n": True},
        {"r": 1},
        {"r": 16},
        {"p": 0},
        {"p": 5},
        {"p": 2**40},
        {"salt": fmt.b64(b"short")},
        {"salt": "not base64!"},
        {"nonce": fmt.b64(bytes(16))},
        {"key": fmt.b64(bytes(32))},
        {"extra": 1},
        {"id": "ABCDEF01"},
        {"id": "0123"},
    ],
)
def test_scrypt_slot_bounds(small: Small, changes: dict[str, object]) -> None:
    data = _header_file(_header(small, slots=[_scrypt(small, **changes)]))
    with pytest.raises(VaultDamagedError):
        fmt.open_master_key(fmt.parse(data), PASSPHRASE, _never)


def test_bounds_at_the_limits_are_accepted(small: Small) -> None:
    slot = _scrypt(small, n=2**20, p=4)
    envelope = fmt.parse(_header_file(_header(small, slots=[slot])))
    assert envelope.header.scrypt_slots()[0].n == 2**20


def test_total_scrypt_work_is_bounded(small: Small) -> None:
    """Each slot within bounds, but together more than 32 times the default work."""
    slots = [_scrypt(small, id=f"0000000{i}", n=2**20, p=2) for i in range(3)]
    with pytest.raises(VaultDamagedError, match="too much"):
        fmt.parse(_header_file(_header(small, slots=slots)))
    many = [_scrypt(small, id=f"{i:08x}") for i in range(fmt.MAX_SLOTS + 1)]
    with pytest.raises(VaultDamagedError):
        fmt.parse(_header_file(_header(small, slots=many)))


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "other"},
        {"version": 2},
        {"version": True},
        {"version": "1"},
        {"extra": None},
        {"slots": []},
        {"slots": {}},
        {"nonce": fmt.b64(bytes(11))},
    ],
)
def test_header_rules(small: Small, changes: dict[str, object]) -> None:
    with pytest.raises(VaultDamagedError):
        fmt.parse(_header_file(_header(small, **changes)))


def test_newer_version_is_named() -> None:
    data = _header_file({"format": "hwotp-vault", "version": 2})
    with pytest.raises(VaultDamagedError, match="version 2"):
        fmt.parse(data)


def test_duplicate_slot_ids_are_rejected(small: Small) -> None:
    unknown = {"id": small.slot["id"], "type": "argon2id"}
    with pytest.raises(VaultDamagedError, match="same id"):
        fmt.parse(_header_file(_header(small, slots=[small.slot, unknown])))


@pytest.mark.parametrize(
    "edit",
    [
        lambda line: line.replace(b'{"format"', b'{ "format"'),  # white space
        lambda line: b'{"version":1,' + line[1:].replace(b',"version":1}', b"}"),  # order
        lambda line: line.replace(b'"version":1', b'"version":1,"version":1'),  # duplicate
        lambda line: line.replace(b'"version":1', b'"version":1.0'),
        lambda line: line.replace(b'"version":1', b'"version":NaN'),
        lambda line: line.replace(b"hwotp-vault", b"hwotp\\u002dvault"),  # another escape
        lambda line: line.replace(b"hwotp-vault", "hwötp-vault".encode()),  # not ASCII
        lambda line: b"[" * 50_000 + b"]" * 50_000,  # deep nesting
    ],
)
def test_header_must_be_canonical(small: Small, edit: Callable[[bytes], bytes]) -> None:
    line, _, rest = _body(small.data).partition(b"\n")
    changed = edit(line)
    assert changed != line
    with pytest.raises(VaultDamagedError):
        fmt.parse(_with_trailer(changed + b"\n" + rest))


# --- unknown slots and payload members --------------------------------------------------------


def test_unknown_slot_is_skipped_and_kept(small: Small) -> None:
    unknown = {
        "credential": fmt.b64(b"credential id"),
        "id": "fedcba98",
        "key": fmt.b64(bytes(48)),
        "nested": {"list": [1, "two", None, True], "text": "ä"},
        "type": "argon2id",
    }
    data = fmt.seal([unknown, small.slot], small.master_key, fmt.Payload([]))
    envelope = fmt.parse(data)
    assert envelope.header.slots[0] == unknown
    assert fmt.canonical_json(unknown) in envelope.header_line
    master_key, slot_id = fmt.open_master_key(envelope, PASSPHRASE, small.derive)
    assert (master_key, slot_id) == (small.master_key, small.slot["id"])
    # An edit of the unknown slot is caught by the payload's associated data.
    edited = envelope.header_line.replace(b'"text":"\\u00e4"', b'"text":"\\u00e5"')
    assert edited != envelope.header_line
    forged = _with_trailer(edited + b"\n" + envelope.ciphertext)
    with pytest.raises(VaultDamagedError):
        _open(forged, PASSPHRASE, small.derive)


def test_no_passphrase_slot_is_wrong_passphrase(small: Small) -> None:
    unknown = {"id": "fedcba98", "type": "argon2id"}
    data = fmt.seal([unknown], small.master_key, fmt.Payload([]))
    with pytest.raises(WrongPassphraseError):
        fmt.open_master_key(fmt.parse(data), PASSPHRASE, _never)


def test_unknown_payload_members_are_kept(small: Small) -> None:
    credential = _credential()
    payload = fmt.Payload(
        [credential],
        extra={"groups": ["work"], "future": {"a": 1}},
        credential_extra={
            (credential.name, credential.secret): {"icon": "github.svg", "note": "ä"}
        },
    )
    data = fmt.seal([small.slot], small.master_key, payload)
    read = _open(data, PASSPHRASE, small.derive)
    assert read == payload
    assert fmt.payload_json(read) == fmt.payload_json(payload)


def test_credentials_sharing_a_secret_keep_their_own_members(small: Small) -> None:
    first = _credential()
    second = Credential(first.secret, "Other", "bob")
    payload = fmt.Payload(
        [first, second],
        credential_extra={(second.name, second.secret): {"note": "only bob's"}},
    )
    read = _open(fmt.seal([small.slot], small.master_key, payload), PASSPHRASE, small.derive)
    items = json.loads(fmt.payload_json(read))["credentials"]
    assert ["note" in item for item in items] == [False, True]


def test_plaintext_is_padded(small: Small) -> None:
    for count in range(6):
        plaintext = fmt.payload_json(fmt.Payload([_credential(n) for n in range(count)]))
        assert len(plaintext) % 256 == 0
        json.loads(plaintext)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"credentials":{}}',
        b'{"credentials":[1]}',
        b'{"credentials":[{"secret":"JBSWY3DP"}]}',
        b'{"credentials":[{"account":"a","algorithm":"MD5","counter":0,"digits":6,'
        b'"issuer":"i","kind":"totp","period":30,"secret":"JBSWY3DPEHPK3PXP"}]}',
        b'{"credentials":[{"account":"a","algorithm":"SHA1","counter":0,"digits":true,'
        b'"issuer":"i","kind":"totp","period":30,"secret":"JBSWY3DPEHPK3PXP"}]}',
        b'{"credentials":[{"account":"a","algorithm":"SHA1","counter":0,"digits":6,'
        b'"issuer":"i","kind":"totp","period":30,"secret":"jbswy3dp!!"}]}',
        b"\xff\xfe",
    ],
)
def test_unreadable_payload_is_damage_without_its_contents(small: Small, payload: bytes) -> None:
    """Authentic but not readable (a newer or buggy writer): damaged, and no content echoed."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = fmt.Header(bytes(12), (small.slot,))
    line = fmt.header_line(header)
    ciphertext = AESGCM(small.master_key).encrypt(header.nonce, payload, line)
    data = _with_trailer(line + b"\n" + ciphertext)
    with pytest.raises(VaultDamagedError) as caught:
        _open(data, PASSPHRASE, small.derive)
    assert "JBSWY3DP" not in str(caught.value)
    assert "jbswy3dp" not in str(caught.value)


def test_a_credential_newer_rules_refuse_is_named_not_shown(small: Small) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    payload = (
        b'{"credentials":[{"account":"a\\u202eb","algorithm":"SHA1","counter":0,"digits":6,'
        b'"issuer":"i","kind":"totp","period":30,"secret":"JBSWY3DPEHPK3PXP"}]}'
    )
    header = fmt.Header(bytes(12), (small.slot,))
    line = fmt.header_line(header)
    data = _with_trailer(
        line + b"\n" + AESGCM(small.master_key).encrypt(header.nonce, payload, line)
    )
    with pytest.raises(VaultDamagedError, match="refuses: the account name contains an invisible"):
        _open(data, PASSPHRASE, small.derive)


def test_passphrase_is_normalised(small: Small) -> None:
    """NFC and NFD spellings of the same passphrase derive the same key."""
    slot = fmt.parse(small.data).header.scrypt_slots()[0]
    assert fmt.scrypt_kek("caf\u00e9", slot) == fmt.scrypt_kek("cafe\u0301", slot)


@pytest.mark.parametrize("bad", ["1", -1, 2**63, True, 1.5, None])
def test_a_generation_that_is_no_count_makes_the_payload_unreadable(small: Small, bad) -> None:
    data = fmt.seal([small.slot], small.master_key, fmt.Payload([], extra={"generation": bad}))
    with pytest.raises(VaultDamagedError, match="not in a form hwotp can read"):
        _open(data, PASSPHRASE, small.derive)


def test_the_generation_survives_a_round_trip(small: Small) -> None:
    data = fmt.seal([small.slot], small.master_key, fmt.Payload([], generation=41))
    assert _open(data, PASSPHRASE, small.derive).generation == 41


# --- security key and recovery key slots ------------------------------------------------------

AAGUID = "a25342c0-3cdc-4414-8e46-f4807fca511c"
HMAC_OUTPUT = bytes(range(0x80, 0xA0))
RECOVERY_KEY = bytes(range(0x60, 0x74))


def test_the_key_slots_vector_opens_by_either_slot_and_is_reproduced() -> None:
    data = _doc_vector("test-vector-keys")
    doc = DOC.read_text(encoding="utf-8")
    envelope = fmt.parse(data)
    (key_slot,) = envelope.header.fido2_slots()
    assert (key_slot.id, key_slot.label, key_slot.rp_id, key_slot.uv, key_slot.aaguid) == (
        "1a1b1c1d", "blue key", "hwotp", False, AAGUID)
    assert key_slot.credential_id == bytes(range(0x40, 0x80))
    assert key_slot.salt == bytes(range(0xD0, 0xF0))
    kek = fmt.fido2_kek(HMAC_OUTPUT)
    assert kek.hex() in doc
    master_key = fmt.unwrap(kek, key_slot)
    assert master_key == bytes(range(32))
    (recovery_slot,) = envelope.header.recovery_slots()
    assert fmt.recovery_kek(RECOVERY_KEY, recovery_slot.salt).hex() in doc
    assert fmt.open_with_recovery_key(envelope, RECOVERY_KEY) == (master_key, "2a2b2c2d")
    payload = fmt.decrypt(envelope, master_key)
    assert payload.generation == 1
    assert payload.verified == {"1a1b1c1d": 1764547200, "2a2b2c2d": 1764547200}
    assert [c.account for c in payload.credentials] == ["alice@example.com"]
    rebuilt = [
        fmt.new_fido2_slot(master_key, kek, slot_id="1a1b1c1d", label="blue key",
                           credential_id=bytes(range(0x40, 0x80)), rp_id="hwotp",
                           salt=bytes(range(0xD0, 0xF0)), uv=False, aaguid=AAGUID,
                           nonce=bytes(range(0xE0, 0xEC))),
        fmt.new_recovery_slot(master_key, RECOVERY_KEY, slot_id="2a2b2c2d",
                              salt=bytes(range(0x90, 0xA0)), nonce=bytes(range(0xA0, 0xAC))),
    ]
    assert fmt.seal(rebuilt, master_key, payload, nonce=bytes(range(0xC0, 0xCC))) == data


def test_the_vectors_recovery_key_is_written_as_the_document_says() -> None:
    from hwotp.vault.recoverykey import format_recovery_key, parse_recovery_key

    written = format_recovery_key(RECOVERY_KEY)
    assert f"`{written}`" in DOC.read_text(encoding="utf-8")
    assert parse_recovery_key(written.lower().replace("-", " ")) == RECOVERY_KEY


def test_a_wrong_hmac_output_or_recovery_key_opens_nothing() -> None:
    envelope = fmt.parse(_doc_vector("test-vector-keys"))
    (key_slot,) = envelope.header.fido2_slots()
    assert fmt.unwrap(fmt.fido2_kek(bytes(32)), key_slot) is None
    with pytest.raises(WrongPassphraseError, match="recovery key opens no slot"):
        fmt.open_with_recovery_key(envelope, bytes(20))
    with pytest.raises(WrongPassphraseError):  # no passphrase slot at all
        fmt.open_master_key(envelope, PASSPHRASE, _never)


def _key_slots() -> list[dict]:
    return [dict(slot) for slot in fmt.parse(_doc_vector("test-vector-keys")).header.slots]


@pytest.mark.parametrize(
    ("index", "changes"),
    [
        (0, {"salt": fmt.b64(bytes(16))}),  # hmac-secret salts are 32 bytes
        (0, {"credential": fmt.b64(bytes(15))}),
        (0, {"credential": fmt.b64(bytes(1024))}),
        (0, {"credential": "QUJD"}),  # 3 bytes
        (0, {"credential": "QUJDRA"}),  # no padding: not canonical
        (0, {"uv": 1}),
        (0, {"uv": None}),
        (0, {"rp": "Hwotp"}),
        (0, {"rp": ""}),
        (0, {"rp": "a" * 254}),
        (0, {"aaguid": AAGUID.upper()}),
        (0, {"aaguid": AAGUID.replace("-", "")}),
        (0, {"label": ""}),
        (0, {"label": "x" * 65}),
        (0, {"label": " blue"}),
        (0, {"label": "blue\nkey"}),
        (0, {"label": "blue\u202ekey"}),
        (0, {"label": "e\u0301"}),  # not NFC
        (0, {"label": 7}),
        (0, {"extra": 1}),
        (0, {"nonce": fmt.b64(bytes(11))}),
        (0, {"key": fmt.b64(bytes(47))}),
        (1, {"salt": fmt.b64(bytes(32))}),
        (1, {"extra": 1}),
        (1, {"key": fmt.b64(bytes(49))}),
    ],
)
def test_key_slot_rules(index: int, changes: dict[str, object]) -> None:
    slots = _key_slots()
    slots[index] |= changes
    assert fmt.slots_problem(slots) is not None
    data = fmt.seal(slots, bytes(32), fmt.Payload([]))
    with pytest.raises(VaultDamagedError):
        fmt.parse(data)


def test_key_slot_bounds_at_the_limits_are_accepted() -> None:
    slots = _key_slots()
    slots[0] |= {"credential": fmt.b64(bytes(1023)), "label": "x" * 64, "rp": "a" * 253}
    assert fmt.slots_problem(slots) is None
    slots[0] |= {"credential": fmt.b64(bytes(16)), "label": "é", "uv": True}
    assert fmt.slots_problem(slots) is None


def test_a_reader_that_does_not_know_the_key_slot_types_keeps_them_byte_for_byte(
    small: Small, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An hwotp of before these types (monkeypatched to know none) opens the passphrase slot
    and writes the others back unchanged."""
    key_slots = _key_slots()
    data = fmt.seal([*key_slots, small.slot], small.master_key, fmt.Payload([]))
    monkeypatch.setattr(fmt, "FIDO2_TYPE", "not-known-here")
    monkeypatch.setattr(fmt, "RECOVERY_TYPE", "not-known-either")
    envelope = fmt.parse(data)
    assert fmt.open_master_key(envelope, PASSPHRASE, small.derive)[1] == small.slot["id"]
    rewritten = fmt.seal(envelope.header.slots, small.master_key, fmt.Payload([]))
    again = fmt.parse(rewritten).header_line
    for slot in key_slots:
        assert fmt.canonical_json(slot) in again
    monkeypatch.undo()
    assert fmt.parse(rewritten).header.fido2_slots()[0].raw == key_slots[0]


@pytest.mark.parametrize("verified", [[], {"1a1b1c1d": "x"}, {"nothex!!": 1}, {"1a1b1c1d": -1},
                                      {"1a1b1c1d": True}, {"1a1b1c1d": 2**63}])
def test_a_verified_member_that_is_no_map_of_times_is_unreadable(small: Small, verified) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = fmt.Header(bytes(12), (small.slot,))
    line = fmt.header_line(header)
    plaintext = json.dumps({"credentials": [], "verified": verified}).encode()
    body = line + b"\n" + AESGCM(small.master_key).encrypt(bytes(12), plaintext, line)
    with pytest.raises(VaultDamagedError, match="not in a form"):
        fmt.decrypt(fmt.parse(_with_trailer(body)), small.master_key)
