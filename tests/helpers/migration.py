"""Google Authenticator exports ("otpauth-migration://offline?data=..."), encoded by the real
protobuf package: the message classes are built from a FileDescriptorProto, so google.protobuf is
the independent encoder (and, for damaged data, the independent judge of what is well-formed)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from helpers.samples import RAW_SECRET

Field = descriptor_pb2.FieldDescriptorProto
# Published in several migration tools' READMEs and tests: one entry (Example:alice@google.com,
# secret JBSWY3DPEHPK3PXP), no version or batch.
PUBLISHED = (
    "otpauth-migration://offline?data="
    "CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZTAC"
)


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    type_name: str = "",
    repeated: bool = False,
) -> None:
    label = Field.LABEL_REPEATED if repeated else Field.LABEL_OPTIONAL
    field = message.field.add(name=name, number=number, type=kind, label=label)
    if type_name:
        field.type_name = type_name


def _enum(message: descriptor_pb2.DescriptorProto, name: str, values: list[str]) -> None:
    enum = message.enum_type.add(name=name)
    for number, value in enumerate(values):
        enum.value.add(name=value, number=number)


def _otp_parameters(file: descriptor_pb2.FileDescriptorProto, name: str, extra: bool) -> None:
    message = file.message_type.add(name=name)
    _enum(message, "Algorithm", ["ALGO_UNSPECIFIED", "SHA1", "SHA256", "SHA512", "MD5"])
    _enum(message, "DigitCount", ["DIGIT_COUNT_UNSPECIFIED", "SIX", "EIGHT"])
    _enum(message, "OtpType", ["OTP_TYPE_UNSPECIFIED", "HOTP", "TOTP"])
    _field(message, "secret", 1, Field.TYPE_BYTES)
    _field(message, "name", 2, Field.TYPE_STRING)
    _field(message, "issuer", 3, Field.TYPE_STRING)
    _field(message, "algorithm", 4, Field.TYPE_ENUM, f".test.{name}.Algorithm")
    _field(message, "digits", 5, Field.TYPE_ENUM, f".test.{name}.DigitCount")
    _field(message, "type", 6, Field.TYPE_ENUM, f".test.{name}.OtpType")
    _field(message, "counter", 7, Field.TYPE_INT64)
    if extra:  # fields a newer exporter might add, one of each wire type
        _add_extra_fields(message)


def _add_extra_fields(message: descriptor_pb2.DescriptorProto) -> None:
    _field(message, "extra_fixed64", 100, Field.TYPE_FIXED64)  # wire type 1
    _field(message, "extra_fixed32", 101, Field.TYPE_FIXED32)  # wire type 5
    _field(message, "extra_text", 102, Field.TYPE_STRING)  # wire type 2
    _field(message, "extra_varint", 103, Field.TYPE_UINT64)  # wire type 0
    _field(message, "extra_packed", 104, Field.TYPE_INT32, repeated=True)  # packed: wire type 2
    _field(message, "extra_double", 105, Field.TYPE_DOUBLE)


def _payload(file: descriptor_pb2.FileDescriptorProto, name: str, entry: str, extra: bool) -> None:
    message = file.message_type.add(name=name)
    _field(message, "otp_parameters", 1, Field.TYPE_MESSAGE, f".test.{entry}", repeated=True)
    _field(message, "version", 2, Field.TYPE_INT32)
    _field(message, "batch_size", 3, Field.TYPE_INT32)
    _field(message, "batch_index", 4, Field.TYPE_INT32)
    _field(message, "batch_id", 5, Field.TYPE_INT32)
    if extra:
        _add_extra_fields(message)


@cache
def message_classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="hwotp_test_migration.proto", package="test", syntax="proto3"
    )
    _otp_parameters(file, "OtpParameters", extra=False)
    _otp_parameters(file, "OtpParametersPlus", extra=True)
    _payload(file, "MigrationPayload", "OtpParameters", extra=False)
    _payload(file, "MigrationPayloadPlus", "OtpParametersPlus", extra=True)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    names = ["OtpParameters", "MigrationPayload", "MigrationPayloadPlus"]
    return {
        n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"test.{n}")) for n in names
    }


def payload_bytes(
    entries: list[dict[str, Any]],
    message: str = "MigrationPayload",
    **fields: int,
) -> bytes:
    payload = message_classes()[message](**fields)
    for entry in entries:
        payload.otp_parameters.add(**entry)
    return payload.SerializeToString()


def entry(**fields: Any) -> dict[str, Any]:
    """An OtpParameters entry: a TOTP credential unless told otherwise."""
    return {"secret": RAW_SECRET, "name": "alice@example.com", "issuer": "GitHub", **fields}


def uri(data: bytes, encode: Callable[[str], str] = lambda text: quote(text, safe="")) -> str:
    return "otpauth-migration://offline?data=" + encode(base64.b64encode(data).decode())


def github_batch(count: int) -> tuple[list[str], str]:
    """An export of `count` GitHub credentials (`GitHub:user1@x`, ...) sharing RAW_SECRET: their
    names, and the export's URI."""
    accounts = [f"user{number}@x" for number in range(1, count + 1)]
    data = payload_bytes([entry(name=account) for account in accounts])
    return [f"GitHub:{account}" for account in accounts], uri(data)
