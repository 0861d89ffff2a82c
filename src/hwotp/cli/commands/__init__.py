"""The commands, one module per family: everyday use (`daily`: list, code, delete, rename, vault,
config, completion), enrolment (`enroll`, `targets`), moving in and out (`transfer`), keys
(`keys`), the vault's key slots (`slots`), `unlock`/`lock` and `doctor`.

Each registers itself on the `cli` group; they may import `hwotp.cli`'s plumbing and every layer
below it, and `targets` is shared by `enroll`, `transfer` and `daily`'s `vault push`.
"""
