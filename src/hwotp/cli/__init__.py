"""The command line: a thin layer that parses, prompts, prints and maps errors to exit codes.

`root` holds the click group and `quick` the click-free parser of the daily `hwotp code`; this
package itself loads nothing, so the quick path does not pay for click. The top layer: may
import every other one, and nothing imports it.
"""
