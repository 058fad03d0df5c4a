"""One array of an uncompressed .npz mapped from the file, not read into memory.

Why: EASE's weights are n × n (378 MB on ml-latest-small) and a request reads only the rows of the
films a person rated, so reading the whole array was most of a chat's model load (0.6 s of a first
answer). `np.load` ignores `mmap_mode` for .npz; `np.savez` stores members uncompressed, so the
member's .npy bytes sit whole inside the file and map like a .npy of their own.
"""

from __future__ import annotations

import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, (version … sizes), name length, extra length


def map_member(path, name: str) -> np.ndarray | None:
    """The member `name`.npy of the .npz at `path`, read-only and mapped; None where it cannot be mapped
    (compressed, an object array, a foreign layout): the caller reads it the usual way."""
    with zipfile.ZipFile(path) as z:
        try:
            info = z.getinfo(f"{name}.npy")
        except KeyError:
            return None
        if info.compress_type != zipfile.ZIP_STORED:
            return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        signature, name_len, extra_len = _LOCAL_HEADER.unpack(f.read(_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            return None
        start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        f.seek(start)
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            return None
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    if dtype.hasobject or offset + dtype.itemsize * int(np.prod(shape)) > start + info.file_size:
        return None
    mapped = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    return mapped.view(np.ndarray)  # a plain array (its base keeps the map open): results are not memmaps
