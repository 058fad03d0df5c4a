"""db.gguf_check's own header reader gives what gguf-py's GGUFReader gives, and bad files are one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFEndian, GGUFReader, GGUFWriter

from db import RecchatError
from db.gguf_check import (CHAT_TEMPLATE_KEY, FORMAT_KEY, PROMPT_KEY, GGUFInfo, _read_header, _WANTED,
                           check_gguf, default_model_path)


def _reference(path: Path, reader: GGUFReader | None = None) -> tuple[GGUFInfo, int]:
    """check_gguf as it was written on GGUFReader (the full parse), and the end of its last tensor's data."""
    reader = reader or GGUFReader(path)

    def field_str(key: str) -> str:
        field = reader.get_field(key)
        if field is None:
            return ""
        try:
            return str(field.contents())
        except Exception:
            return bytes(field.parts[field.data[0]]).decode("utf-8", "replace")

    end = max((t.data_offset + int(t.n_bytes) for t in reader.tensors), default=0)
    info = GGUFInfo(path, field_str("general.architecture"), field_str("general.name"), path.stat().st_size,
                    field_str(PROMPT_KEY), field_str(FORMAT_KEY) or "alpaca", field_str(CHAT_TEMPLATE_KEY))
    return info, end


@pytest.fixture(scope="module")
def real():
    """The default model, GGUFReader's view of it, and where its KV section ends / its tensor data starts."""
    path = default_model_path()
    reader = GGUFReader(path)
    kv_end = reader.tensors[0].field.offset  # the first tensor info follows the last KV
    return path, _reference(path, reader), kv_end, reader.data_offset


def _head(src: Path, dst: Path, n: int) -> Path:
    with open(src, "rb") as f:
        dst.write_bytes(f.read(n))
    return dst


def test_equals_gguf_reader_on_the_default_model(real):
    path, (want, want_end), _, _ = real
    got = check_gguf(path)
    assert got == want
    assert got.architecture == "llama" and got.chat_template  # the keys really were read
    assert _read_header(path, _WANTED)[1] == want_end == path.stat().st_size


@pytest.mark.parametrize("endian", [GGUFEndian.LITTLE, GGUFEndian.BIG])
def test_equals_gguf_reader_on_every_value_type(tmp_path, endian):
    """All 13 value types, nested and string arrays to skip, non-string wanted keys, custom alignment, big-endian."""
    f = tmp_path / "all.gguf"
    w = GGUFWriter(str(f), "llama", endianess=endian)
    w.add_name("kinds ünï")
    w.add_custom_alignment(64)
    w.add_uint8("x.u8", 7), w.add_int8("x.i8", -7), w.add_uint16("x.u16", 700), w.add_int16("x.i16", -700)
    w.add_uint32("x.u32", 70000), w.add_int32("x.i32", -70000), w.add_float32("x.f32", 0.1), w.add_bool("x.b", True)
    w.add_uint64("x.u64", 2**40), w.add_int64("x.i64", -(2**40)), w.add_float64("x.f64", 0.1)
    w.add_array("x.strs", ["a", "", "ccc" * 50, "ü"])
    w.add_array("x.ints", [1, 2, 3])
    w.add_array("x.floats", [0.5, 1.5])
    w.add_array("x.nested", [[1, 2], [3]])
    w.add_float32(PROMPT_KEY, 0.1)  # a wanted key that is not a string: str() of its value, as before
    w.add_array(CHAT_TEMPLATE_KEY, ["x", "y"])
    w.add_string(FORMAT_KEY, "chat")
    w.add_tensor("a", np.zeros((3, 5), dtype=np.float32))
    w.add_tensor("b", np.ones(7, dtype=np.float16))
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file()
    w.close()
    want, want_end = _reference(f)
    assert check_gguf(f) == want
    assert (want.prompt, want.chat_template, want.prompt_format) == (str(float(np.float32(0.1))), "['x', 'y']", "chat")
    assert _read_header(f, _WANTED)[1] == want_end


def test_no_tensors(tmp_path):
    f = tmp_path / "empty.gguf"
    w = GGUFWriter(str(f), "llama")
    w.write_header_to_file(), w.write_kv_data_to_file(), w.write_tensors_to_file()
    w.close()
    assert check_gguf(f) == _reference(f)[0]
    assert _read_header(f, _WANTED)[1] == 0


@pytest.mark.parametrize("where", ["in_a_key", "mid_kv", "at_kv_end", "mid_tensor_infos"])
def test_cut_in_the_header(tmp_path, real, where):
    path, _, kv_end, data_start = real
    cut = {"in_a_key": 30, "mid_kv": kv_end // 2, "at_kv_end": kv_end, "mid_tensor_infos": (kv_end + data_start) // 2}[where]
    f = _head(path, tmp_path / "cut.gguf", cut)
    with pytest.raises(RecchatError, match=r"^truncated or corrupt GGUF: .*cut\.gguf \(EOFError\)$"):
        check_gguf(f)


def test_cut_in_the_tensor_data(tmp_path, real):
    path, (_, end), _, data_start = real
    f = _head(path, tmp_path / "cut.gguf", data_start + 1000)
    msg = f"truncated GGUF: {f} is {data_start + 1000} bytes, its tensors need {end}"
    with pytest.raises(RecchatError, match=f"^{re.escape(msg)}$"):
        check_gguf(f)


@pytest.mark.parametrize("key", [b"k", b"general.name"])  # skipped, decoded
@pytest.mark.parametrize("item_type", [8, 0, 9])  # string, uint8, array items
def test_corrupt_counts_end_quickly(tmp_path, item_type, key):
    """A huge array count is an error, not a long loop or a huge allocation."""
    import struct

    f = tmp_path / "bad.gguf"
    kv = struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, item_type, 2**62)
    f.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv + bytes(64))
    with pytest.raises(RecchatError, match="truncated or corrupt GGUF"):
        check_gguf(f)


def test_unsupported_version(tmp_path):
    f = tmp_path / "v9.gguf"
    f.write_bytes(b"GGUF" + (9).to_bytes(4, "little") + bytes(16))
    with pytest.raises(RecchatError, match=r"truncated or corrupt GGUF: .*v9\.gguf \(ValueError\)"):
        check_gguf(f)


def test_not_a_gguf(tmp_path):
    f = tmp_path / "model.gguf"
    f.write_bytes(b"PK\x03\x04 a zip")
    with pytest.raises(RecchatError, match=r"not a GGUF file: .*model\.gguf \(starts with b'PK\\x03\\x04'\)"):
        check_gguf(f)
    f.write_bytes(b"")
    with pytest.raises(RecchatError, match=r"not a GGUF file: .*model\.gguf \(starts with b''\)"):
        check_gguf(f)


def test_missing(tmp_path):
    with pytest.raises(RecchatError, match=r"^model not found: .*nope\.gguf$"):
        check_gguf(tmp_path / "nope.gguf")


def test_folder(tmp_path):
    with pytest.raises(RecchatError, match=r"^model path is a folder, expected a \.gguf file: "):
        check_gguf(tmp_path)
