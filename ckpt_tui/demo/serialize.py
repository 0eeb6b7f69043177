"""Write a checkpoint in torch's legacy (pre-1.6, non-zip) format, byte-for-byte reproducibly.

``torch.save(..., _use_new_zipfile_serialization=False)`` names each storage after its memory
address (``str(storage._cdata)``) and writes the storages sorted by that name, so two saves of
equal data differ in bytes, and even in size when an address has one digit more. Here torch.save
runs with a pickle module of our own that renames the storages "0", "1", ... in the order the
pickler meets them (as the zip format does), writes the key list in that order, and the storage
records are then put in the same order. The result is still exactly torch's legacy layout:
magic number, protocol, sys info, the object pickle, the key list, then each storage as an
8-byte element count and its raw bytes.
"""

from __future__ import annotations

import io
import pickle
import types
from typing import Any


class _Renamer:
    """Collects the storage renames and record sizes of one save."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.record_bytes: dict[str, int] = {}
        self.written_order: list[str] = []
        self.records_start = -1

    def module(self) -> types.ModuleType:
        renamer = self

        class Pickler(pickle.Pickler):
            def __init_subclass__(cls, **kwargs: Any) -> None:
                # torch subclasses this Pickler with its own persistent_id; wrap that method so
                # every storage reference it returns carries the stable name instead.
                super().__init_subclass__(**kwargs)
                inner = cls.persistent_id

                def persistent_id(self: Any, obj: Any) -> Any:
                    pid = inner(self, obj)
                    if pid is None:
                        return None
                    kind, storage_type, key, location, numel, view = pid
                    name = renamer.names.setdefault(key, str(len(renamer.names)))
                    storage = getattr(obj, "_untyped_storage", obj)  # TypedStorage wraps one
                    renamer.record_bytes[name] = 8 + storage.nbytes()
                    return (kind, storage_type, name, location, numel, view)

                cls.persistent_id = persistent_id  # type: ignore[method-assign]

        def dump(obj: Any, file: Any, protocol: int = 2) -> None:
            if isinstance(obj, list) and obj and all(key in renamer.names for key in obj):
                # The storage key list: torch writes the records in this (address) order.
                renamer.written_order = [renamer.names[key] for key in obj]
                pickle.dump(sorted(renamer.written_order, key=int), file, protocol=protocol)
                renamer.records_start = file.tell()
                return
            pickle.dump(obj, file, protocol=protocol)

        mod = types.ModuleType("ckpt_tui_demo_legacy_pickle")
        mod.Pickler = Pickler  # type: ignore[attr-defined]
        mod.dump = dump  # type: ignore[attr-defined]
        return mod

    def reorder(self, data: bytes) -> bytes:
        """Put the storage records in name order, matching the key list written."""
        if self.records_start < 0:
            return data
        records: dict[str, bytes] = {}
        offset = self.records_start
        for name in self.written_order:
            size = self.record_bytes[name]
            records[name] = data[offset : offset + size]
            offset += size
        if offset != len(data):
            raise RuntimeError("legacy checkpoint layout not as expected; cannot reorder records")
        ordered = b"".join(records[name] for name in sorted(records, key=int))
        return data[: self.records_start] + ordered


def legacy_bytes(obj: Any) -> bytes:
    """``torch.save(obj, _use_new_zipfile_serialization=False)`` with stable storage names."""
    import torch

    renamer = _Renamer()
    buffer = io.BytesIO()
    torch.save(obj, buffer, pickle_module=renamer.module(), _use_new_zipfile_serialization=False)
    return renamer.reorder(buffer.getvalue())


def zip_bytes(obj: Any) -> bytes:
    """``torch.save(obj)`` to memory, as Lightning does before writing the file (so the zip's
    records sit under ``archive/``, like every Lightning checkpoint's)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
