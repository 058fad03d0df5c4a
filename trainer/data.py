"""Training data: TALLRec files for rec-tuning (several domains at once), any Alpaca JSON for instruction tuning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from db.errors import RecchatError
from db.fileio import file_sha256
from db.sample_files import iter_json_array, read_samples
from db.samples import kshot
from db.types import Sample


@dataclass(frozen=True)
class DataFile:
    path: str
    sha256: str
    samples: int


def load_rec_files(paths: list[Path], role: str) -> tuple[list[list[Sample]], list[DataFile]]:
    """The TALLRec samples of each file. A malformed file or one with no usable sample is an error."""
    pools: list[list[Sample]] = []
    info = []
    for path in paths:
        got, bad = read_samples(path)
        if bad:
            raise RecchatError(f"{role} file has {len(bad)} malformed samples; first: {bad[0]}")
        if not got:
            raise RecchatError(f"{role} file has no samples: {path}")
        pools.append(got)
        info.append(DataFile(str(path), file_sha256(Path(path)), len(got)))
    return pools, info


def load_alpaca(path: Path) -> tuple[list[Sample], DataFile]:
    """Alpaca-format records: instruction, optional input, output (any text)."""
    samples = []
    for line, obj in iter_json_array(Path(path)):
        if not isinstance(obj, dict) or not isinstance(obj.get("instruction"), str) or not isinstance(obj.get("output"), str):
            raise RecchatError(f"{Path(path).name}:{line}: need string 'instruction' and 'output'")
        if not isinstance(obj.get("input", ""), str):
            raise RecchatError(f"{Path(path).name}:{line}: 'input' must be a string")
        samples.append(Sample(obj["instruction"], obj.get("input", ""), obj["output"]))
    if not samples:
        raise RecchatError(f"training file has no samples: {path}")
    return samples, DataFile(str(path), file_sha256(Path(path)), len(samples))


def kshot_per_file(pools: list[list[Sample]], k: int | None, seed: int) -> list[Sample]:
    """K samples from each file (TALLRec's K is per domain), all of them when k is None."""
    out: list[Sample] = []
    for pool in pools:
        out += pool if k is None else kshot(pool, k, seed)
    return out
