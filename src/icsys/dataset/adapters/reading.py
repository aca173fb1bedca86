"""Reading an extract as it arrives: CSV, pipe- or tab-delimited text or Parquet (told by content, not by
the file's name); plain, gzip or Zstandard compressed; UTF-8, Windows-1252 or Latin-1; CRLF or LF.

Every column is staged as text with the file's own row number, so a bad value is reported as written.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from icsys.dataset.validate import FileProblem, literal, stage_source

PARQUET_MAGIC = b"PAR1"
COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
DELIMITERS = {",": "comma", "|": "pipe", "\t": "tab", ";": "semicolon"}
CHUNK = 1 << 22


@dataclass(frozen=True)
class Layout:
    """How a file is written, as found by looking at it."""

    kind: str  # "parquet" | "text"
    compression: str  # "none" | "gzip" | "zstd"
    delimiter: str = ","
    encoding: str = "utf-8"

    def describe(self) -> str:
        if self.kind == "parquet":
            return "Parquet"
        text = f"{DELIMITERS.get(self.delimiter, repr(self.delimiter))}-delimited text, {self.encoding}"
        return text + ("" if self.compression == "none" else f", {self.compression} compressed")


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """The five bytes Windows-1252 leaves undefined are read as Latin-1 (their C1 control characters)."""
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("icsys_latin1", _latin1_fallback)


def _stream(path: Path, compression: str) -> pa.NativeFile:
    raw = pa.OSFile(str(path), "rb")
    return raw if compression == "none" else pa.CompressedInputStream(raw, compression)


def detect(path: Path) -> Layout:
    with open(path, "rb") as f:
        head = f.read(4)
    if head == PARQUET_MAGIC:
        return Layout("parquet", "none")
    compression = COMPRESSION_MAGIC.get(head[:2]) or COMPRESSION_MAGIC.get(head[:4]) or "none"
    try:
        with _stream(path, compression) as stream:
            first = stream.read(CHUNK)
            encoding = _encoding(first, stream)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileProblem(f"{path}: cannot be read as {compression} compressed data: {exc}") from exc
    if first[:4] == PARQUET_MAGIC:
        raise FileProblem(f"{path}: a compressed Parquet file; Parquet compresses inside the file, give it plain")
    header = first.split(b"\n", 1)[0].decode(encoding, "icsys_latin1")
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return Layout("text", compression, delimiter, encoding)


def _encoding(first: bytes, stream: pa.NativeFile) -> str:
    """UTF-8 if every byte of the file decodes as UTF-8, else Windows-1252 (which reads Latin-1 too)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = first
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = stream.read(CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def _as_utf8(path: Path, layout: Layout, workdir: Path) -> Path:
    """A UTF-8 copy of a file in another encoding (DuckDB reads UTF-8 text)."""
    out = workdir / "extract.csv"
    decoder = codecs.getincrementaldecoder("cp1252")(errors="icsys_latin1")
    with _stream(path, layout.compression) as stream, open(out, "w", encoding="utf-8", newline="") as f:
        while chunk := stream.read(CHUNK):
            f.write(decoder.decode(chunk))
        f.write(decoder.decode(b"", final=True))
    return out


def fields(path: Path) -> list[str]:
    """The field names of a file's header (or Parquet schema), without reading its rows."""
    layout = detect(path)
    if layout.kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(str(path)).names)
    with _stream(path, layout.compression) as stream:
        first = stream.read(1 << 16).split(b"\n", 1)[0].decode(layout.encoding, "icsys_latin1")
    return [f.strip().strip('"') for f in first.rstrip("\r").split(layout.delimiter)]


def stage(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], Layout]:
    """Read `path` into the staging table, every column as text plus `_row`; return its columns and layout."""
    layout = detect(path)
    with tempfile.TemporaryDirectory(prefix="icsys-extract-") as tmp:
        source = _source(path, layout, Path(tmp))
        columns = stage_source(con, source, f"{path}: cannot be read as {layout.describe()}")
    return columns, layout


def _source(path: Path, layout: Layout, workdir: Path) -> str:
    if layout.kind == "parquet":
        return f"read_parquet({literal(str(path))})"
    compression = layout.compression
    if layout.encoding != "utf-8":
        path, compression = _as_utf8(path, layout, workdir), "none"
    return (f"read_csv({literal(str(path))}, all_varchar = true, header = true, delim = {literal(layout.delimiter)}, "
            f"quote = '\"', escape = '\"', compression = {literal(compression)}, strict_mode = false, "
            "null_padding = true)")
