"""Compiled Jinja templates kept for the life of the process.

Every app built in one process (the test suite builds hundreds; `python -m bot` one) would otherwise
compile the same report templates again: 7 of them, about a third of building an app. Jinja checks
each entry against the template's source, so an edited override is compiled afresh.
"""

from __future__ import annotations

from jinja2.bccache import BytecodeCache, Bucket


class ProcessBytecodeCache(BytecodeCache):
    """Jinja's bytecode cache in memory. Share one per set of Environment options: the code depends on them."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)  # dropped by Jinja if the source changed since

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._compiled.clear()
