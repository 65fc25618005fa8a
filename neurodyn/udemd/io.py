"""Parsing and validation of user uploads for UDEMD (docs/papers/udemd.md, the section on uploads).

Everything works on ``bytes`` in memory (CSV parsers also take gzip-compressed bytes, ``.csv.gz``, or a binary
file object): nothing is written to disk,
nothing is unpickled. Every rejection raises :class:`UploadError` (a ``ValueError``) whose message names the line,
column, member or limit and what was expected; per-line problems of a CSV are all reported (up to
:data:`MAX_PROBLEMS`, by line), not just the first. Non-fatal findings (duplicate edges, symmetrised adjacency,
graph nodes missing from the signals) come back as warning lines.

Hostile files: look before reading
----------------------------------
A small upload can declare a huge matrix (a 3.5 MB ``.npz`` of zeros that inflates to 3.6 GB, a 1 MB ``.h5ad``
of 20,000 x 5,000 gzip-compressed zeros). So every parser reads the sizes a file declares and refuses it against
the caps below *before* it decompresses or allocates anything sized by the file:

- ``.npz``: the zip's end record (member count), each member's local and central sizes, each member's ``.npy``
  header (dtype, shape; only its first bytes are inflated), then the caps; members are inflated by a streaming
  decompressor that stops one byte past the declared size, so a member whose sizes lie is refused, not inflated.
  The declared uncompressed total may be at most :data:`MAX_INFLATED_BYTES` (twice the upload cap).
- ``.h5ad``: opened with h5py from memory; the shapes, dtypes, encodings (dense dataset or csr/csc group) and
  stored entries of ``X`` / ``raw.X``, the ``obs``/``var`` lengths, ``obsp['connectivities']`` and
  ``obsm['X_pca']`` are read from metadata, chunk sizes and links checked, and only then the few arrays needed.
- CSV: streamed line by line; a line longer than :data:`MAX_LINE_BYTES`, more than the column cap, or more rows
  than the row cap stops the parse at once (a billion-column header is refused after its first 4 MiB).

Then the whole cost of an upload (dense copies, PCA, kNN graph, diffusion, embeddings, pairwise distances) is
estimated from those sizes alone and checked against one :data:`BUDGET` (:func:`estimate_work`,
:func:`check_work`). The dashboard also runs every parser in a child process with a memory and a time limit
(:data:`SANDBOX`, :data:`PARSE_LIMITS`), so even a file that slipped past a cap cannot take the server down.

Accepted inputs
---------------
- Graph as an edge-list CSV ``src,dst[,weight]`` (string ids, undirected, weight finite and > 0, default 1;
  duplicate edges keep the max weight, self-loops are dropped; both are reported).
- Graph as an adjacency ``.npz`` written by ``scipy.sparse.save_npz`` (csr, csc or coo) or ``numpy.savez`` with one
  2-D array, square and non-negative; symmetrised as (A + A^T)/2 when asymmetric beyond 1e-8; node ids from an
  optional one-column ``nodes.csv`` (row order = index), else 0..N-1.
- Signals CSV, wide (``id[,label],<node id>...``, one row per signal) or long (``signal_id,node_id,value[,label]``).
- AnnData ``.h5ad`` (cells x genes; anndata >= 0.7 layout, or the older layout of scanpy's bundled files): graph
  from ``obsp['connectivities']`` (or the older ``uns['neighbors']``), else a kNN on ``obsm['X_pca']``, else on
  PCA(50) of log1p X; signals are the genes from ``.raw.X`` if present, else ``.X``.
"""

from __future__ import annotations

import array
import csv
import gzip
import hashlib
import io as _io
import math
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from neurodyn.core.sandbox import Limits, Sandbox, report

__all__ = [
    "UploadError",
    "GraphUpload",
    "SignalUpload",
    "PreparedData",
    "PrepareOptions",
    "WorkBudget",
    "WorkEstimate",
    "BUDGET",
    "PARSE_LIMITS",
    "SANDBOX",
    "MAX_FILE_BYTES",
    "MAX_INFLATED_BYTES",
    "MAX_NODES",
    "MAX_NNZ",
    "MAX_SIGNALS",
    "MAX_DENSE_ENTRIES",
    "MAX_LINE_BYTES",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_ID_CHARS",
    "MAX_PROBLEMS",
    "MAX_EXACT_NODES",
    "MAX_EXACT_PAIRS",
    "check_file_size",
    "parse_edge_list",
    "parse_adjacency_npz",
    "parse_signals_csv",
    "parse_signals_for",
    "parse_h5ad",
    "prepare",
    "estimate_work",
    "check_work",
    "exact_comparison_allowed",
    "embedding_csv",
    "neighbors_csv",
    "example_files",
    "EXAMPLES_DIR",
]

# ----------------------------------------------------------------------------------------------- caps
MAX_FILE_BYTES = 200 * 2**20  # the upload cap (Streamlit's server.maxUploadSize in .streamlit/config.toml)
MAX_INFLATE_FACTOR = 2
MAX_INFLATED_BYTES = MAX_INFLATE_FACTOR * MAX_FILE_BYTES  # declared uncompressed bytes an archive may unpack to
MAX_NODES = 20_000  # graph nodes (cells of an .h5ad)
MAX_NNZ = 2_000_000  # stored entries of a sparse graph
MAX_SIGNALS = 20_000  # signals (genes of an .h5ad)
MAX_DENSE_ENTRIES = 25_000_000  # any dense array read or built from a file: 200 MB in float64 (e.g. 5000 x 5000)
MAX_LINE_BYTES = 4 * 2**20  # one CSV line
MAX_COLUMNS = MAX_NODES + 2  # id, label and one column per graph node
MAX_ROWS = 5_000_000  # CSV rows
MAX_ID_CHARS = 256  # one node id, signal id, label or gene name
MAX_PROBLEMS = 20  # per-line problems listed in one message
MAX_PROBLEMS_SCANNED = 1000  # reading stops after this many problems
MAX_ZIP_MEMBERS = 16  # scipy.sparse.save_npz writes 5 or 6, numpy.savez one per array
MAX_ZIP_DIRECTORY_BYTES = 64 * 2**10
MAX_NPY_HEADER_BYTES = 10_000  # numpy's own default limit
MAX_HDF5_CHUNK_BYTES = 64 * 2**20  # one HDF5 chunk is decompressed whole, even to read one element
N_PCS = 50
MAX_EXACT_NODES = 1000
MAX_EXACT_PAIRS = 500
_MAX_REPORTED = 5  # ids listed in a message
_DENSE_ROUTE_NODES = 2000  # neurodyn.udemd.operator.DENSE_MAX_NODES (not imported: it pulls in torch)


@dataclass(frozen=True)
class WorkBudget:
    """The most one upload may cost, from parsing to the last stage of its run, estimated from its sizes alone.

    Two numbers: the arrays held at once (``memory_bytes``) and single-core time (``seconds``). Operation counts
    become seconds through the rates below (conservative single-core rates measured on the 2-core CI machine).

    Attributes
    ----------
    memory_bytes : int
        Peak bytes of the arrays an upload creates (its dense copies, operator, embeddings, distance matrices).
    seconds : float
        Estimated single-core seconds for parsing, the graph, the embeddings and the distances.
    dense_flops, sparse_entries, l1_dims, elementwise : float
        Rates per second: BLAS flops, sparse multiply-adds, pair-dimensions of L1 ``pdist``/``cdist``, and
        elementwise numpy or parsing steps.
    """

    memory_bytes: int = 3 * 2**30
    seconds: float = 300.0
    dense_flops: float = 1e10
    sparse_entries: float = 3e8
    l1_dims: float = 3e8
    elementwise: float = 2e8

    def describe(self) -> str:
        """E.g. ``"3 GiB of arrays and 300 s of one core"``."""
        return f"{self.memory_bytes / 2**30:g} GiB of arrays and {self.seconds:g} s of one core"


BUDGET = WorkBudget()
PARSE_LIMITS = Limits(memory_bytes=3 * 2**30, seconds=120.0)  # the checker process of one upload
SANDBOX = Sandbox(PARSE_LIMITS, preload=("neurodyn.udemd.io", "h5py"), stub_packages=("neurodyn.udemd",))


@dataclass(frozen=True)
class WorkEstimate:
    """What an upload will cost: totals and the terms they are made of, each ``(what, bytes, seconds)``."""

    memory_bytes: float
    seconds: float
    terms: tuple[tuple[str, float, float], ...]

    def largest(self, by: str = "memory") -> tuple[str, float, float]:
        """The term with the most bytes (``by="memory"``) or seconds (``by="time"``)."""
        return max(self.terms, key=lambda t: t[1] if by == "memory" else t[2])


class UploadError(ValueError):
    """An uploaded file was rejected; the message says where, what was expected and which limit applies.

    Attributes
    ----------
    problems : list of str
        One line per problem found (``"line 3: ..."``), at most :data:`MAX_PROBLEMS`; empty for a single refusal.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


@dataclass
class GraphUpload:
    """A parsed graph: adjacency (N, N) symmetric CSR, node ids (N,), warning lines, content digest."""

    adjacency: sp.csr_matrix
    node_ids: list[str]
    warnings: list[str] = field(default_factory=list)
    digest: str = ""


@dataclass
class PreparedData:
    """Graph and signals ready for the transformer, with what was done to them."""

    adjacency: sp.csr_matrix
    node_ids: list[str]
    signals: np.ndarray
    signal_ids: list[str]
    labels: list[str] | None
    dropped_mass: np.ndarray  # (m,) mass removed per signal by "largest component only"
    report: list[str] = field(default_factory=list)


@dataclass
class SignalUpload:
    """Parsed signals: values (m, N) aligned to the graph's node order, ids (m,), labels or None, warnings.

    ``prepared`` holds the result of :func:`prepare` when the parser ran it (in the checker process), keyed by
    ``prepared_key``; :func:`prepare` returns it instead of redoing the work.
    """

    signals: np.ndarray
    signal_ids: list[str]
    labels: list[str] | None
    warnings: list[str] = field(default_factory=list)
    prepared: PreparedData | None = None
    prepared_key: tuple | None = None


@dataclass(frozen=True)
class PrepareOptions:
    """The settings :func:`prepare` needs, so a parser can run it in the checker process (picklable)."""

    largest_component_only: bool = False
    balanced: bool = False
    n_scales: int = 6
    max_scale: int = 12
    method: str = "exact"

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`prepare`."""
        return {"largest_component_only": self.largest_component_only, "balanced": self.balanced,
                "n_scales": self.n_scales, "max_scale": self.max_scale, "method": self.method}


def _list(items) -> str:
    items = list(items)
    head = ", ".join(repr(str(x)[:40]) for x in items[:_MAX_REPORTED])
    return head + (f" and {len(items) - _MAX_REPORTED} more" if len(items) > _MAX_REPORTED else "")


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:,.1f} GiB"


class _Problems:
    """Per-line problems of one file: all are counted, the first MAX_PROBLEMS listed, reading stops at 1000."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[str] = []
        self.count = 0

    def add(self, where: str, text: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{where}: {text}")
        if self.count >= MAX_PROBLEMS_SCANNED:
            self.raise_if_any(stopped=where)

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self, stopped: str | None = None) -> None:
        if not self.count:
            return
        if self.count == 1:
            raise UploadError(f"{self.name} {self.items[0]}", self.items)
        head = f"{self.name}: {self.count}{'+' if stopped else ''} problems"
        if self.count > len(self.items):
            head += f" (the first {len(self.items)} are listed"
            head += f"; reading stopped at {stopped})" if stopped else ")"
        raise UploadError(head + ":\n" + "\n".join(f"- {p}" for p in self.items), self.items)


# ----------------------------------------------------------------------------------------------- text helpers
def check_file_size(data: bytes, name: str = "file") -> None:
    """Reject non-bytes, empty files and files over :data:`MAX_FILE_BYTES` (200 MB)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UploadError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise UploadError(f"{name} is empty; expected a non-empty file")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name} is {len(data) / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are refused")


def _source(data: bytes | IO[bytes], name: str) -> tuple[IO[bytes], int | None, int]:
    """A line-readable stream of the file, its size for progress (None if unknown) and its byte limit.

    gzip-compressed bytes (``.csv.gz``) are decompressed as they are read, up to :data:`MAX_INFLATED_BYTES`.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        check_file_size(data, name)
        if bytes(data[:2]) == b"\x1f\x8b":
            return gzip.GzipFile(fileobj=_io.BytesIO(data), mode="rb"), None, MAX_INFLATED_BYTES
        return _io.BytesIO(data), len(data), MAX_FILE_BYTES
    if hasattr(data, "readline"):
        return data, None, MAX_FILE_BYTES
    raise UploadError(f"{name}: expected the file's bytes or a binary file object, got {type(data).__name__}")


def _csv_rows(data: bytes | IO[bytes], name: str, *, max_columns: int, max_rows: int,
              expect: str) -> Iterator[tuple[int, list[str]]]:
    """Stream ``(line number, stripped fields)`` of the non-blank rows, refusing at the first cap reached.

    A line is read with a length bound (never more than :data:`MAX_LINE_BYTES` + 1 bytes at once), and an unquoted
    line with too many delimiters is refused by counting them, before it is split.
    """
    src, total, limit = _source(data, name)
    state = {"read": 0, "line": 0, "quoted": False}

    def lines() -> Iterator[str]:
        while True:
            try:
                raw = src.readline(MAX_LINE_BYTES + 1)
            except (OSError, EOFError, zlib.error) as exc:  # a broken .gz stream
                raise UploadError(f"{name} line {state['line'] + 1}: the compressed stream is broken "
                                  f"({type(exc).__name__}); expected a gzip-compressed CSV") from None
            if not raw:
                return
            state["line"] += 1
            n = state["line"]
            state["read"] += len(raw)
            if len(raw) > MAX_LINE_BYTES:
                raise UploadError(f"{name} line {n} is longer than {MAX_LINE_BYTES // 2**20} MiB (the line limit); "
                                  f"expected {expect}")
            if state["read"] > limit:
                raise UploadError(f"{name} is over {_mib(limit)} (uncompressed); the limit is {_mib(limit)}")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UploadError(f"{name} line {n} is not UTF-8 text (byte {exc.start} of the line); "
                                  "expected a CSV file") from None
            if "\x00" in text:
                raise UploadError(f"{name} line {n} contains NUL bytes; expected a plain-text CSV file")
            if n == 1:
                text = text.removeprefix("\ufeff")
            if not state["quoted"] and '"' not in text and text.count(",") >= max_columns:
                raise UploadError(f"{name} line {n} has {text.count(',') + 1:,} columns; the limit is "
                                  f"{max_columns:,} ({expect})")
            if text.count('"') % 2:
                state["quoted"] = not state["quoted"]
            if total and n % 8192 == 0:
                report(state["read"] / total, f"{name}: line {n:,}")
            yield text

    reader = csv.reader(lines())
    rows = 0
    try:
        for row in reader:
            if len(row) > max_columns:
                raise UploadError(f"{name} line {reader.line_num} has {len(row):,} columns; the limit is "
                                  f"{max_columns:,} ({expect})")
            row = [c.strip() for c in row]
            if not any(row):
                continue
            rows += 1
            if rows > max_rows:
                raise UploadError(f"{name} has more than {max_rows:,} rows (the row limit); expected {expect}")
            yield reader.line_num, row
    except csv.Error as exc:
        hint = f"; fields may hold at most {csv.field_size_limit():,} characters" if "limit" in str(exc) else ""
        raise UploadError(f"{name} line {state['line']} is not readable as CSV ({exc}){hint}") from None
    if rows == 0:
        raise UploadError(f"{name} has no rows; expected {expect}")


def _number(text: str, where: str, problems: _Problems) -> float | None:
    """The finite number in ``text``, or None after recording the problem."""
    try:
        val = float(text)
    except ValueError:
        problems.add(where, f"{text[:40]!r} is not a number")
        return None
    if not math.isfinite(val):
        problems.add(where, f"value {text[:40]!r} is NaN or infinite; expected a finite number")
        return None
    return val


def _check_id(text: str, where: str, what: str, problems: _Problems) -> bool:
    if text == "":
        problems.add(where, f"empty {what}; expected a non-empty id")
        return False
    if len(text) > MAX_ID_CHARS:
        problems.add(where, f"{what} of {len(text):,} characters; ids may have at most {MAX_ID_CHARS}")
        return False
    return True


def _graph_digest(a: sp.csr_matrix, ids: list[str]) -> str:
    h = hashlib.sha256()
    for arr in (a.indptr, a.indices, a.data):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\n".join(ids).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------------------------- graphs
def parse_edge_list(data: bytes | IO[bytes], name: str = "edge list") -> GraphUpload:
    """Parse an undirected edge-list CSV with header ``src,dst[,weight]``.

    Parameters
    ----------
    data : bytes or binary file object
    name : str
        Used in messages.

    Returns
    -------
    GraphUpload
        Adjacency (N, N) with node ids in order of first appearance.

    Raises
    ------
    UploadError
        Listing every bad line (up to :data:`MAX_PROBLEMS`), or at the first cap reached.
    """
    expect = "a header 'src,dst[,weight]' and one edge per line"
    rows = _csv_rows(data, name, max_columns=64, max_rows=MAX_ROWS, expect=expect)
    _, head = next(rows)
    header = [h.lower() for h in head]
    if header[:2] != ["src", "dst"] or len(header) not in (2, 3) or (len(header) == 3 and header[2] != "weight"):
        raise UploadError(f"{name}: header must be 'src,dst' or 'src,dst,weight', got {','.join(head)[:80]!r}")
    has_w = len(header) == 3
    index: dict[str, int] = {}
    src, dst, wts = array.array("q"), array.array("q"), array.array("d")
    problems = _Problems(name)
    for r, row in rows:
        where = f"line {r}"
        if len(row) != len(header):
            problems.add(where, f"expected {len(header)} columns ({','.join(header)}), got {len(row)}")
            continue
        ok = _check_id(row[0], where + ", column 'src'", "node id", problems)
        ok = _check_id(row[1], where + ", column 'dst'", "node id", problems) and ok
        w: float | None = 1.0
        if has_w and row[2] != "":
            w = _number(row[2], where + ", column 'weight'", problems)
            if w is not None and w <= 0:
                problems.add(where + ", column 'weight'", f"weight {row[2]!r} must be > 0 (an affinity, not a length)")
                w = None
        if not ok or w is None or problems:
            continue
        src.append(index.setdefault(row[0], len(index)))
        dst.append(index.setdefault(row[1], len(index)))
        wts.append(w)
        if len(index) > MAX_NODES:
            raise UploadError(f"{name} line {r}: more than {MAX_NODES:,} nodes; the limit is {MAX_NODES:,} nodes")
    problems.raise_if_any()
    report(0.9, f"{name}: merging duplicate edges")
    n = len(index)
    i, j, w_arr = (np.frombuffer(src, dtype=np.int64), np.frombuffer(dst, dtype=np.int64),
                   np.frombuffer(wts, dtype=np.float64))
    loops = i == j
    names = list(index)
    loop_nodes = sorted(names[k] for k in np.unique(i[loops]))
    lo, hi, w_arr = np.minimum(i, j)[~loops], np.maximum(i, j)[~loops], w_arr[~loops]
    if not len(lo):
        raise UploadError(f"{name}: no edges between distinct nodes; expected at least one 'src,dst' row")
    key = lo * n + hi
    order = np.lexsort((-w_arr, key))  # by edge, heaviest first
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    keep = order[first]
    if 2 * len(keep) > MAX_NNZ:
        raise UploadError(f"{name}: {2 * len(keep):,} adjacency entries exceed the limit of {MAX_NNZ:,} "
                          f"({MAX_NNZ // 2:,} distinct edges)")
    a = sp.coo_matrix((w_arr[keep], (lo[keep], hi[keep])), shape=(n, n))
    a = (a + a.T).tocsr()
    warns = []
    if len(key) > len(keep):
        warns.append(f"{len(key) - len(keep)} duplicate edge(s) merged, keeping the largest weight")
    if loops.any():
        warns.append(f"{int(loops.sum())} self-loop(s) dropped (nodes {_list(loop_nodes)}); "
                     "the lazy option re-adds them")
    ids = list(index.keys())
    return GraphUpload(a, ids, warns, _graph_digest(a, ids))


# ----------------------------------------------------------------------------------------------- .npz
@dataclass
class _Member:
    """One ``.npy`` member of a zip: where its bytes are, what its header declares."""

    key: str
    info: zipfile.ZipInfo
    start: int  # offset of its (compressed) bytes in the file
    dtype: np.dtype | None = None
    shape: tuple[int, ...] = ()
    fortran: bool = False
    offset: int = 0  # length of the .npy header
    stream: Any = None

    @property
    def count(self) -> int:
        return math.prod(self.shape)


class _Inflater:
    """Streaming reader of one zip member: never produces more than asked, counts bytes and the CRC."""

    def __init__(self, buf: memoryview, member: _Member) -> None:
        self.src = buf[member.start : member.start + member.info.compress_size]
        self.z = zlib.decompressobj(-15) if member.info.compress_type == zipfile.ZIP_DEFLATED else None
        self.pos, self.out, self.crc = 0, 0, 0
        self.tail = b""
        self.pending = b""

    def read(self, n: int) -> bytes:
        if self.pending:
            chunk, self.pending = self.pending[:n], self.pending[n:]
            return chunk
        if self.z is None:
            chunk = bytes(self.src[self.pos : self.pos + n])
            self.pos += len(chunk)
        else:
            parts, need = [], n
            while need > 0 and not self.z.eof:
                if self.tail:
                    inp = self.tail
                elif self.pos < len(self.src):
                    inp = self.src[self.pos : self.pos + (1 << 20)]
                    self.pos += len(inp)
                else:
                    inp = b""
                got = self.z.decompress(inp, need)
                self.tail = self.z.unconsumed_tail
                parts.append(got)
                need -= len(got)
                if not inp and not got:
                    break
            chunk = b"".join(parts)
        self.out += len(chunk)
        self.crc = zlib.crc32(chunk, self.crc)
        return chunk

    @property
    def ended(self) -> bool:
        return self.pos >= len(self.src) if self.z is None else self.z.eof


def _zip_directory(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    """The members of a zip after checking its end record: member count and directory size are capped."""
    pos = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if pos < 0 or pos + 22 > len(data):
        raise UploadError(f"{name} is not a readable .npz archive (no zip end record); expected the output of "
                          "scipy.sparse.save_npz or numpy.savez")
    _, _, _, _, n_total, cd_size, _, _ = struct.unpack_from("<4s4H2LH", data, pos)
    if n_total == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64 end record, found through its locator
        loc = pos - 20
        if loc < 0 or data[loc : loc + 4] != b"PK\x06\x07":
            raise UploadError(f"{name} is not a readable .npz archive (broken zip64 end record)")
        rec = struct.unpack_from("<4sLQL", data, loc)[2]
        if rec + 56 > len(data) or data[rec : rec + 4] != b"PK\x06\x06":
            raise UploadError(f"{name} is not a readable .npz archive (broken zip64 end record)")
        n_total, cd_size = struct.unpack_from("<4sQ2H2L4Q", data, rec)[7:9]
    if n_total > MAX_ZIP_MEMBERS or cd_size > MAX_ZIP_DIRECTORY_BYTES:
        raise UploadError(f"{name} lists {n_total:,} members in a {cd_size:,}-byte directory; the limit is "
                          f"{MAX_ZIP_MEMBERS} members (scipy.sparse.save_npz writes 5, numpy.savez one per array)")
    try:
        return zipfile.ZipFile(_io.BytesIO(data)).infolist()
    except Exception as exc:  # noqa: BLE001 - zipfile errors on arbitrary bytes
        raise UploadError(f"{name} is not a readable .npz archive ({type(exc).__name__}: {str(exc)[:80]})") from None


def _local_sizes(data: bytes, info: zipfile.ZipInfo, name: str) -> int:
    """Check a member's local header against the central directory; return where its bytes start."""
    off = info.header_offset
    if off < 0 or off + 30 > len(data) or data[off : off + 4] != b"PK\x03\x04":
        raise UploadError(f"{name}: member {info.filename!r} has no local header where the directory says")
    _, _, flags, method, _, _, _, csize, usize, nlen, elen = struct.unpack_from("<4s5H3L2H", data, off)
    start = off + 30 + nlen + elen
    if method != info.compress_type:
        raise UploadError(f"{name}: member {info.filename!r} has two compression methods ({method} and "
                          f"{info.compress_type}); the archive's headers disagree")
    if not flags & 0x08:  # sizes are in the local header (not in a trailing data descriptor)
        if 0xFFFFFFFF in (csize, usize):
            extra, k = data[off + 30 + nlen : start], 0
            while k + 4 <= len(extra):
                hid, hlen = struct.unpack_from("<2H", extra, k)
                if hid == 1 and hlen >= 16:
                    usize, csize = struct.unpack_from("<2Q", extra, k + 4)
                k += 4 + hlen
        if (usize, csize) != (info.file_size, info.compress_size):
            raise UploadError(
                f"{name}: member {info.filename!r} declares {usize:,} bytes ({csize:,} compressed) in its local "
                f"header but {info.file_size:,} ({info.compress_size:,} compressed) in the directory; expected "
                "one size: the archive's sizes lie")
    if start + info.compress_size > len(data):
        raise UploadError(f"{name}: member {info.filename!r} runs past the end of the file; the archive is truncated")
    return start


def _npz_members(data: bytes, name: str) -> dict[str, _Member]:
    """Every member's zip sizes and .npy header, read by inflating at most the header's bytes."""
    infos = _zip_directory(data, name)
    declared = sum(i.file_size for i in infos)
    if declared > MAX_INFLATED_BYTES:
        raise UploadError(f"{name} declares {_mib(declared)} uncompressed; the limit is {_mib(MAX_INFLATED_BYTES)} "
                          f"({MAX_INFLATE_FACTOR} x the {MAX_FILE_BYTES // 2**20} MB upload cap)")
    buf = memoryview(data)
    out: dict[str, _Member] = {}
    for info in infos:
        fn = info.filename
        if info.flag_bits & 0x1:
            raise UploadError(f"{name}: member {fn!r} is encrypted; expected a plain .npz archive")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UploadError(f"{name}: member {fn!r} uses compression method {info.compress_type}; expected stored "
                              "or deflate (what numpy.savez and savez_compressed write)")
        if not fn.endswith(".npy") or fn[:-4] in out:
            raise UploadError(f"{name}: member {fn!r} is not a distinct .npy array; expected only .npy members")
        m = _Member(fn[:-4], info, _local_sizes(data, info, name))
        m.stream = _Inflater(buf, m)
        head = m.stream.read(min(info.file_size, 12 + MAX_NPY_HEADER_BYTES))
        fp = _io.BytesIO(head)
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=MAX_NPY_HEADER_BYTES)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=MAX_NPY_HEADER_BYTES)
            else:
                raise ValueError(f"format version {version}; expected 1.0 or 2.0")
        except (ValueError, SyntaxError, TypeError, OverflowError) as exc:
            raise UploadError(f"{name}: member {fn!r} is not a .npy array ({str(exc)[:80]})") from None
        m.shape, m.fortran, m.dtype, m.offset = tuple(int(s) for s in shape), bool(fortran), dtype, fp.tell()
        m.stream.pending = head[m.offset :]
        if dtype.hasobject:
            raise UploadError(f"{name}: member {fn!r} holds pickled objects, which are refused; save with "
                              "scipy.sparse.save_npz or numpy.savez of numeric arrays")
        if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biufcSU":
            raise UploadError(f"{name}: member {fn!r} has dtype {dtype}; expected a plain numeric array")
        implied = m.offset + m.count * dtype.itemsize
        if implied != info.file_size:
            raise UploadError(
                f"{name}: member {fn!r} declares {info.file_size:,} bytes uncompressed, but its .npy header "
                f"(shape {m.shape}, dtype {dtype}) implies {implied:,}; expected equal sizes: the archive's sizes lie")
        out[m.key] = m
    return out


def _read_member(m: _Member, name: str) -> np.ndarray:
    """Inflate one member (its header already checked against the caps) into an array of exactly its size."""
    nbytes = m.count * m.dtype.itemsize
    buf = bytearray(nbytes)
    view, pos = memoryview(buf), 0
    while pos < nbytes:
        chunk = m.stream.read(min(1 << 20, nbytes - pos))
        if not chunk:
            break
        view[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
    fn = m.info.filename
    if pos < nbytes:
        raise UploadError(f"{name}: member {fn!r} ends after {m.offset + pos:,} bytes but declares "
                          f"{m.info.file_size:,}; the archive is truncated or its sizes lie")
    if m.stream.read(1) or not m.stream.ended:
        raise UploadError(f"{name}: member {fn!r} inflates beyond its declared {m.info.file_size:,} bytes; "
                          "expected the declared size: the archive's sizes lie")
    if m.stream.crc != m.info.CRC:
        raise UploadError(f"{name}: member {fn!r} fails its CRC check; the archive is corrupt")
    arr = np.frombuffer(buf, dtype=m.dtype, count=m.count)
    return arr.reshape(m.shape, order="F" if m.fortran else "C")


def _need(members: dict[str, _Member], keys: tuple[str, ...], name: str, fmt: str) -> None:
    missing = [k for k in keys if k not in members]
    if missing:
        raise UploadError(f"{name}: a {fmt} matrix needs members {_list(keys)}; missing {_list(missing)}")


def _int_member(m: _Member, name: str, count: int | None = None, why: str = "") -> None:
    if m.dtype.kind not in "iu":
        raise UploadError(f"{name}: member {m.key!r} has dtype {m.dtype}; expected integers")
    if len(m.shape) != 1 or (count is not None and m.count != count):
        want = f"({count},)" if count is not None else "a 1-D array"
        why = f" ({why})" if why else ""
        raise UploadError(f"{name}: member {m.key!r} has shape {m.shape}; expected {want}{why}")


def _value_member(m: _Member, name: str) -> None:
    if m.dtype.kind not in "biuf":
        raise UploadError(f"{name}: adjacency dtype {m.dtype} is not a real number type")


def _npz_matrix(data: bytes, name: str) -> sp.csr_matrix:
    check_file_size(data, name)
    data = bytes(data)
    members = _npz_members(data, name)
    report(0.1, f"{name}: headers checked")
    if "format" in members:  # scipy.sparse.save_npz
        fm, shm = members["format"], members.get("shape")
        if fm.count != 1 or fm.dtype.kind not in "SU" or shm is None or shm.count != 2 or shm.dtype.kind not in "iu":
            raise UploadError(f"{name}: members 'format' and 'shape' do not describe a sparse matrix; expected "
                              "scipy.sparse.save_npz output")
        fmt = _read_member(fm, name).item()
        fmt = fmt.decode("ascii", "replace") if isinstance(fmt, bytes) else str(fmt)
        shape = tuple(int(s) for s in _read_member(shm, name))
        if min(shape) < 0 or max(shape) > MAX_NODES:
            raise UploadError(f"{name}: shape {shape}; graphs are limited to {MAX_NODES:,} nodes")
        if fmt in ("csr", "csc"):
            _need(members, ("data", "indices", "indptr"), name, fmt)
            major, minor = (shape[0], shape[1]) if fmt == "csr" else (shape[1], shape[0])
            d, ix, ip = members["data"], members["indices"], members["indptr"]
            _int_member(ip, name, major + 1, f"a {fmt} matrix of shape {shape} needs {major + 1:,} indptr entries")
            _int_member(ix, name)
        elif fmt == "coo":
            _need(members, ("data", "row", "col"), name, fmt)
            d, ix, ip = members["data"], members["row"], members["col"]
            _int_member(ix, name)
            _int_member(ip, name, ix.count, "one column per row index")
        else:
            raise UploadError(f"{name}: sparse format {fmt!r} is not supported; expected csr, csc or coo")
        _value_member(d, name)
        if len(d.shape) != 1 or d.count != ix.count:
            raise UploadError(f"{name}: member 'data' has {d.count:,} entries but {ix.key!r} {ix.count:,}; "
                              "expected one index per stored entry")
        if d.count > MAX_NNZ:
            raise UploadError(f"{name}: declares {d.count:,} stored entries; the limit is {MAX_NNZ:,}")
        report(0.3, f"{name}: reading {d.count:,} entries")
        if fmt in ("csr", "csc"):
            indptr = _read_member(ip, name).astype(np.int64)
            if indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] != d.count:
                raise UploadError(f"{name}: indptr declares {int(indptr[-1]):,} entries (from {int(indptr[0])}, "
                                  f"non-decreasing expected) but the file stores {d.count:,}; expected them equal")
            indices = _read_member(ix, name).astype(np.int64)
            if len(indices) and (indices.min() < 0 or indices.max() >= minor):
                bad = int(indices.max() if indices.max() >= minor else indices.min())
                raise UploadError(f"{name}: index {bad} outside 0..{minor - 1}; expected indices within the shape "
                                  f"{shape}")
            cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
            mat = cls((_read_member(d, name), indices, indptr), shape=shape)
        else:
            row, col = _read_member(ix, name).astype(np.int64), _read_member(ip, name).astype(np.int64)
            for arr, lim, what in ((row, shape[0], "row"), (col, shape[1], "column")):
                if len(arr) and (arr.min() < 0 or arr.max() >= lim):
                    raise UploadError(f"{name}: {what} index outside 0..{lim - 1}; expected indices within {shape}")
            mat = sp.coo_matrix((_read_member(d, name), (row, col)), shape=shape)
        return sp.csr_matrix(mat, dtype=np.float64)
    two_d = [m for m in members.values() if len(m.shape) == 2]
    if len(two_d) != 1:
        raise UploadError(f"{name}: expected scipy.sparse.save_npz output or exactly one 2-D array, "
                          f"found keys {_list(members)}")
    m = two_d[0]
    r, c = m.shape
    if max(r, c) > MAX_NODES or m.count > MAX_DENSE_ENTRIES:
        raise UploadError(f"{name}: dense 2-D array {m.key!r} of {r:,} x {c:,} = {m.count:,} entries; dense arrays are "
                          f"limited to {MAX_DENSE_ENTRIES:,} entries (e.g. 5000 x 5000) and {MAX_NODES:,} nodes: "
                          "save large graphs with scipy.sparse.save_npz")
    _value_member(m, name)
    report(0.3, f"{name}: reading a dense {r:,} x {c:,} array")
    arr = _read_member(m, name)
    nnz = int(np.count_nonzero(arr))
    if nnz > MAX_NNZ:
        raise UploadError(f"{name}: {nnz:,} non-zero entries exceed the limit of {MAX_NNZ:,}")
    return sp.csr_matrix(arr, dtype=np.float64)


def parse_adjacency_npz(data: bytes, nodes_csv: bytes | None = None, name: str = "adjacency .npz") -> GraphUpload:
    """Parse an adjacency ``.npz`` (square, finite, non-negative) and an optional ``nodes.csv`` of ids.

    Parameters
    ----------
    data : bytes
        ``scipy.sparse.save_npz`` output (csr, csc, coo) or ``numpy.savez`` of one 2-D array.
    nodes_csv : bytes, optional
        One id per row (an optional header line), in index order.
    name : str

    Returns
    -------
    GraphUpload
        Adjacency (N, N), node ids (N,).
    """
    a = _npz_matrix(data, name)
    if a.shape[0] != a.shape[1]:
        raise UploadError(f"{name}: adjacency must be square, got shape {a.shape}")
    n = a.shape[0]
    if n < 2:
        raise UploadError(f"{name}: adjacency needs at least 2 nodes, got {n}")
    coo = a.tocoo()
    bad = ~np.isfinite(coo.data)
    if bad.any():
        k = int(np.argmax(bad))
        raise UploadError(f"{name}: NaN or infinite entry at ({coo.row[k]}, {coo.col[k]}); expected finite affinities")
    if (coo.data < 0).any():
        k = int(np.argmin(coo.data))
        raise UploadError(f"{name}: negative entry {coo.data[k]:g} at ({coo.row[k]}, {coo.col[k]}); expected >= 0")
    warns = []
    if a.diagonal().any():
        a = (a - sp.diags(a.diagonal())).tocsr()
        warns.append("self-loops (diagonal entries) dropped; the lazy option re-adds them")
    a.eliminate_zeros()
    if a.nnz and abs(a - a.T).max() > 1e-8:
        a = ((a + a.T) * 0.5).tocsr()
        warns.append("adjacency was not symmetric; symmetrised as (A + A^T) / 2")
    ids = _read_node_ids(nodes_csv, n) if nodes_csv is not None else [str(i) for i in range(n)]
    return GraphUpload(a, ids, warns, _graph_digest(a, ids))


def _read_node_ids(data: bytes, n: int, name: str = "nodes.csv") -> list[str]:
    expect = f"one node id per row ({n} rows, an optional header line)"
    problems = _Problems(name)
    ids, lines = [], []
    for r, row in _csv_rows(data, name, max_columns=8, max_rows=MAX_NODES + 1, expect=expect):
        if len(row) != 1:
            problems.add(f"line {r}", f"expected one column of node ids, got {len(row)} columns")
        elif _check_id(row[0], f"line {r}", "node id", problems):
            ids.append(row[0])
            lines.append(r)
    problems.raise_if_any()
    if len(ids) == n + 1:  # a header line
        ids, lines = ids[1:], lines[1:]
    if len(ids) != n:
        raise UploadError(f"{name}: {len(ids)} ids for an adjacency with {n} nodes; expected one id per row")
    _check_unique(ids, name, "node id", lines)
    return ids


def _check_unique(ids: list[str], name: str, what: str, lines: list[int] | None = None) -> None:
    first: dict[str, int] = {}
    problems = _Problems(name)
    for k, x in enumerate(ids):
        if x in first:
            where = f"line {lines[k]}" if lines else f"entry {k + 1}"
            was = f"line {lines[first[x]]}" if lines else f"entry {first[x] + 1}"
            problems.add(where, f"duplicate {what} {x[:40]!r} (first on {was}); ids must be unique")
        else:
            first[x] = k
    problems.raise_if_any()


# ----------------------------------------------------------------------------------------------- signals
def parse_signals_csv(data: bytes | IO[bytes], node_ids: list[str], name: str = "signals CSV") -> SignalUpload:
    """Parse signals in wide (``id[,label],<node>...``) or long (``signal_id,node_id,value[,label]``) form.

    Values must be finite and >= 0; every node column must be a graph node; graph nodes absent from the file are
    zero (reported). Every bad line is reported (up to :data:`MAX_PROBLEMS`).

    Parameters
    ----------
    data : bytes or binary file object
    node_ids : list of str, (N,)
        The graph's nodes, in order.
    name : str

    Returns
    -------
    SignalUpload
        Signals (m, N) aligned to ``node_ids``.
    """
    n = max(len(node_ids), 1)
    max_m = min(MAX_SIGNALS, MAX_DENSE_ENTRIES // n)
    expect = ("a header 'id[,label],<node ids>' (one row per signal) or 'signal_id,node_id,value[,label]', "
              f"at most {min(len(node_ids), MAX_NODES) + 2:,} columns")
    rows = _csv_rows(data, name, max_columns=MAX_COLUMNS, max_rows=MAX_ROWS, expect=expect)
    _, header = next(rows)
    low = [h.lower() for h in header]
    pos = {v: i for i, v in enumerate(node_ids)}
    if low[:3] == ["signal_id", "node_id", "value"]:
        return _parse_long(rows, header, pos, node_ids, name, max_m)
    if not low or low[0] != "id":
        raise UploadError(
            f"{name}: first header must be 'id' (wide form) or the header must start 'signal_id,node_id,value' "
            f"(long form), got {','.join(header)[:80]!r}"
        )
    has_label = len(low) > 1 and low[1] == "label"
    first = 2 if has_label else 1
    cols = header[first:]
    if not cols:
        raise UploadError(f"{name}: no node columns after {'id,label' if has_label else 'id'}")
    head_problems = _Problems(name)
    seen: set[str] = set()
    unknown = []
    for c in cols:
        if c in seen:
            head_problems.add("line 1", f"duplicate node column {c[:40]!r}; node columns must be unique")
        seen.add(c)
        if c not in pos:
            unknown.append(c)
    if unknown:
        head_problems.add("line 1", f"column(s) {_list(unknown)} are not nodes of the graph; expected graph node ids")
    head_problems.raise_if_any()
    problems = _Problems(name)
    ids, labels, blocks, lines = [], [], [], []
    width = len(header)
    for r, row in rows:
        where = f"line {r}"
        if len(row) != width:
            problems.add(where, f"expected {width} columns, got {len(row)}")
            continue
        _check_id(row[0], where + ", column 'id'", "signal id", problems)
        if has_label and len(row[1]) > MAX_ID_CHARS:
            problems.add(where + ", column 'label'", f"label of {len(row[1]):,} characters; at most {MAX_ID_CHARS}")
        ids.append(row[0])
        lines.append(r)
        labels.append(row[1] if has_label else "")
        if len(ids) > max_m:
            raise UploadError(f"{name} line {r}: more than {max_m:,} signals; the limit is {max_m:,} "
                              f"({MAX_SIGNALS:,} signals and {MAX_DENSE_ENTRIES:,} signal x node entries)")
        vals = row[first:]
        try:
            block = np.array(vals, dtype=np.float64)  # fast path
        except ValueError:
            block = None
        if block is None or not np.all(np.isfinite(block)) or (block < 0).any():
            before = problems.count
            cells = []
            for c, txt in enumerate(vals):  # every offending cell of the row
                v = _number(txt, f"{where}, column {cols[c][:40]!r}", problems)
                if v is not None and v < 0:
                    problems.add(f"{where}, column {cols[c][:40]!r}", f"value {txt!r} is negative; expected >= 0")
                cells.append(v)
            if problems.count > before:
                continue
            block = np.array(cells, dtype=np.float64)
        if not problems:
            blocks.append(block)
    if not ids:
        raise UploadError(f"{name}: no signal rows after the header")
    problems.raise_if_any()
    _check_unique(ids, name, "signal id", lines)
    report(0.9, f"{name}: {len(ids):,} signals read")
    x = np.zeros((len(ids), len(node_ids)))
    x[:, [pos[c] for c in cols]] = np.vstack(blocks)
    warns = []
    missing = len(node_ids) - len(cols)
    if missing:
        present = set(cols)
        absent = [v for v in node_ids if v not in present]
        warns.append(f"{missing} graph node(s) absent from the signal columns are treated as 0 ({_list(absent)})")
    return SignalUpload(x, ids, labels if has_label else None, warns)


def _parse_long(rows, head, pos, node_ids, name, max_m) -> SignalUpload:
    header = [h.lower() for h in head]
    if len(header) not in (3, 4) or (len(header) == 4 and header[3] != "label"):
        raise UploadError(f"{name}: long form header must be 'signal_id,node_id,value[,label]', "
                          f"got {','.join(head)[:80]!r}")
    has_label = len(header) == 4
    sig: dict[str, int] = {}
    labels: dict[str, tuple[str, int]] = {}
    si, ni, vals = array.array("q"), array.array("q"), array.array("d")
    seen: set[tuple[int, int]] = set()
    dup = 0
    problems = _Problems(name)
    for r, row in rows:
        where = f"line {r}"
        if len(row) != len(header):
            problems.add(where, f"expected {len(header)} columns, got {len(row)}")
            continue
        s, v = row[0], row[1]
        ok = _check_id(s, where + ", column 'signal_id'", "signal_id", problems)
        if v not in pos:
            problems.add(where + ", column 'node_id'", f"node_id {v[:40]!r} is not a node of the graph")
            ok = False
        val = _number(row[2], where + ", column 'value'", problems)
        if val is not None and val < 0:
            problems.add(where + ", column 'value'", f"{row[2]!r} is negative; expected >= 0")
            val = None
        if has_label and ok:
            if s in labels and labels[s][0] != row[3]:
                problems.add(where, f"signal {s!r} has label {row[3][:40]!r} but {labels[s][0][:40]!r} on line "
                                    f"{labels[s][1]}; expected one label per signal")
            labels.setdefault(s, (row[3], r))
        if not ok or val is None or problems:
            continue
        k = sig.setdefault(s, len(sig))
        if len(sig) > max_m:
            raise UploadError(f"{name} line {r}: more than {max_m:,} signals; the limit is {max_m:,} "
                              f"({MAX_SIGNALS:,} signals and {MAX_DENSE_ENTRIES:,} signal x node entries)")
        if (k, pos[v]) in seen:
            dup += 1
        seen.add((k, pos[v]))
        si.append(k)
        ni.append(pos[v])
        vals.append(val)
    problems.raise_if_any()
    if not len(vals):
        raise UploadError(f"{name}: no rows after the header")
    x = np.zeros((len(sig), len(node_ids)))
    np.add.at(x, (np.frombuffer(si, dtype=np.int64), np.frombuffer(ni, dtype=np.int64)),
              np.frombuffer(vals, dtype=np.float64))
    warns = [f"{dup} repeated (signal_id, node_id) row(s) summed"] if dup else []
    ids = list(sig.keys())
    return SignalUpload(x, ids, [labels[s][0] for s in ids] if has_label else None, warns)


def parse_signals_for(data: bytes | IO[bytes], name: str = "signals CSV", *, graph: GraphUpload,
                      options: PrepareOptions | None = None) -> SignalUpload:
    """Parse signals on ``graph`` and, given ``options``, run :func:`prepare` too (all in the checker process).

    Parameters
    ----------
    data : bytes or binary file object
    name : str
    graph : GraphUpload
    options : PrepareOptions, optional
        When given, the combination is validated and sized here; the result rides along in
        ``SignalUpload.prepared`` and :func:`prepare` with the same settings returns it at no cost.

    Returns
    -------
    SignalUpload
    """
    sig = parse_signals_csv(data, graph.node_ids, name)
    if options is not None:
        report(0.95, f"{name}: checking the graph and signals together")
        _attach_prepared(graph, sig, options)
    return sig


def _attach_prepared(graph: GraphUpload, sig: SignalUpload, options: PrepareOptions) -> None:
    sig.prepared = prepare(graph, sig, **options.kwargs())
    sig.prepared_key = (graph.digest, options)


# ----------------------------------------------------------------------------------------------- AnnData
@dataclass
class _H5Matrix:
    """A matrix in an HDF5 file, described from metadata only."""

    where: str
    kind: str  # "dense", "csr" or "csc"
    shape: tuple[int, int]
    stored: int
    node: Any


def _h5_text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.size == 1:
        return _h5_text(v.item())
    return str(v)


class _H5:
    """Metadata reads of one HDF5 file with the checks that must come before any data is read."""

    def __init__(self, f: Any, name: str) -> None:
        self.f, self.name = f, name
        self.declared = 0  # bytes of the datasets to be read

    def get(self, path: str) -> Any:
        """The object at ``path`` or None; refuses links to other files and external or virtual storage."""
        import h5py

        node = self.f
        for part in path.split("/"):
            if not isinstance(node, h5py.Group) or part not in node:
                return None
            if isinstance(node.get(part, getlink=True), h5py.ExternalLink):
                raise UploadError(f"{self.name}: {path!r} links to another file; expected everything inside the upload")
            node = node[part]
        if isinstance(node, h5py.Dataset) and (node.is_virtual or node.external):
            raise UploadError(f"{self.name}: {path!r} stores its data outside the file; expected data inside it")
        return node

    def first(self, *paths: str) -> tuple[str, Any]:
        for p in paths:
            node = self.get(p)
            if node is not None:
                return p, node
        return paths[0], None

    def dataset(self, ds: Any, where: str, max_entries: int, numeric: bool = True) -> None:
        """Check a dataset's declared size, dtype and chunk size before reading it."""
        if numeric and ds.dtype.kind not in "biuf" and ds.dtype.names is None:
            raise UploadError(f"{self.name}: {where} has dtype {ds.dtype}; expected real numbers")
        entries = math.prod(ds.shape) if ds.shape else 1
        if entries > max_entries:
            raise UploadError(f"{self.name}: {where} declares {entries:,} entries (shape {ds.shape}); the limit "
                              f"here is {max_entries:,}")
        if ds.chunks is not None:
            chunk = math.prod(ds.chunks) * ds.dtype.itemsize
            if chunk > MAX_HDF5_CHUNK_BYTES:
                raise UploadError(f"{self.name}: {where} is stored in chunks of {_mib(chunk)}; the limit is "
                                  f"{_mib(MAX_HDF5_CHUNK_BYTES)} per chunk")
        self.declared += entries * ds.dtype.itemsize
        if self.declared > MAX_INFLATED_BYTES:
            raise UploadError(f"{self.name}: the arrays to read declare {_mib(self.declared)}; the limit is "
                              f"{_mib(MAX_INFLATED_BYTES)} ({MAX_INFLATE_FACTOR} x the upload cap)")

    def shape(self, path: str, node: Any) -> tuple[int, int]:
        """The declared 2-D shape of a dense dataset or a sparse group (metadata only)."""
        import h5py

        attrs = node.attrs
        raw = node.shape if isinstance(node, h5py.Dataset) else attrs.get("shape", attrs.get("h5sparse_shape"))
        try:
            shape = tuple(int(s) for s in np.asarray(raw).ravel())
        except (TypeError, ValueError):
            shape = ()
        if len(shape) != 2 or min(shape) < 0:
            raise UploadError(f"{self.name}: {path!r} has no valid 2-D shape; expected a cells x genes matrix")
        return shape

    def matrix(self, path: str, node: Any, max_entries: int, max_stored: int) -> _H5Matrix:
        """Shape, encoding and stored entries of a dense dataset or a csr/csc group; checked against the caps."""
        import h5py

        where = f"{path!r}"
        if isinstance(node, h5py.Dataset):
            if len(node.shape) != 2:
                raise UploadError(f"{self.name}: {where} has shape {node.shape}; expected a 2-D matrix")
            shape = (int(node.shape[0]), int(node.shape[1]))
            if shape[0] * shape[1] > max_entries:
                raise UploadError(f"{self.name}: {where} is a dense {shape[0]:,} x {shape[1]:,} matrix = "
                                  f"{shape[0] * shape[1]:,} entries; the limit is {max_entries:,} entries")
            self.dataset(node, where, max_entries)
            return _H5Matrix(path, "dense", shape, shape[0] * shape[1], node)
        enc = _h5_text(node.attrs.get("encoding-type", node.attrs.get("h5sparse_format", "")))
        kind = {"csr_matrix": "csr", "csr": "csr", "csc_matrix": "csc", "csc": "csc"}.get(enc)
        if kind is None:
            raise UploadError(f"{self.name}: {where} has encoding {enc!r}; expected a dense array or a csr/csc matrix")
        shape = self.shape(path, node)
        parts = {k: self.get(f"{path}/{k}") for k in ("data", "indices", "indptr")}
        if any(v is None or not isinstance(v, h5py.Dataset) or len(v.shape) != 1 for v in parts.values()):
            raise UploadError(f"{self.name}: {where} needs 1-D datasets 'data', 'indices' and 'indptr'")
        stored = int(parts["data"].shape[0])
        if stored != parts["indices"].shape[0]:
            raise UploadError(f"{self.name}: {where} stores {stored:,} values but {parts['indices'].shape[0]:,} "
                              "indices; expected one index per value")
        if stored > shape[0] * shape[1]:
            raise UploadError(f"{self.name}: {where} declares {stored:,} stored entries, more than its "
                              f"{shape[0]:,} x {shape[1]:,} shape can hold; expected at most {shape[0] * shape[1]:,}")
        if stored > max_stored:
            raise UploadError(f"{self.name}: {where} declares {stored:,} stored entries; the limit is {max_stored:,}")
        if shape[0] * shape[1] > max_entries:
            raise UploadError(f"{self.name}: {where} is {shape[0]:,} x {shape[1]:,} = {shape[0] * shape[1]:,} "
                              f"entries once dense; the limit is {max_entries:,} entries")
        major = shape[0] if kind == "csr" else shape[1]
        if parts["indptr"].shape[0] != major + 1:
            raise UploadError(f"{self.name}: {where} has {parts['indptr'].shape[0]:,} indptr entries; a {kind} "
                              f"matrix of shape {shape} needs {major + 1:,}")
        self.dataset(parts["data"], f"{where}/data", max_stored)
        for k in ("indices", "indptr"):
            if parts[k].dtype.kind not in "iu":
                raise UploadError(f"{self.name}: {where}/{k} has dtype {parts[k].dtype}; expected integers")
            self.dataset(parts[k], f"{where}/{k}", max_stored + major + 1)
        return _H5Matrix(path, kind, shape, stored, node)

    def read_matrix(self, m: _H5Matrix) -> np.ndarray | sp.csr_matrix:
        """Read a matrix checked by :meth:`matrix`; sparse ones are validated before scipy sees them."""
        if m.kind == "dense":
            return np.asarray(m.node[()], dtype=np.float64)
        indptr = np.asarray(m.node["indptr"][()], dtype=np.int64)
        if indptr[0] != 0 or (np.diff(indptr) < 0).any() or indptr[-1] != m.stored:
            raise UploadError(f"{self.name}: {m.where!r} indptr declares {int(indptr[-1]):,} entries (from "
                              f"{int(indptr[0])}, non-decreasing expected) but the file stores {m.stored:,}")
        indices = np.asarray(m.node["indices"][()], dtype=np.int64)
        minor = m.shape[1] if m.kind == "csr" else m.shape[0]
        if len(indices) and (indices.min() < 0 or indices.max() >= minor):
            raise UploadError(f"{self.name}: {m.where!r} has an index outside 0..{minor - 1}; expected indices "
                              f"within the shape {m.shape}")
        data = np.asarray(m.node["data"][()], dtype=np.float64)
        cls = sp.csr_matrix if m.kind == "csr" else sp.csc_matrix
        return sp.csr_matrix(cls((data, indices, indptr), shape=m.shape))

    def names(self, path: str, node: Any, n: int, what: str) -> tuple[Any, str | None]:
        """Check the index (names) of a dataframe: ``n`` entries, bounded size. Returns (dataset, field or None)."""
        import h5py

        if node is None:
            raise UploadError(f"{self.name}: no {path!r}; expected a dataframe of {what}")
        if isinstance(node, h5py.Dataset):  # the older layout: a compound dataset with an 'index' field
            field_name = next((k for k in ("index", "_index") if node.dtype.names and k in node.dtype.names), None)
            if field_name is None or len(node.shape) != 1:
                raise UploadError(f"{self.name}: {path!r} has no 'index' field; expected names of {what}")
            ds = node
        else:
            field_name = None
            key = _h5_text(node.attrs.get("_index", ""))
            ds = self.get(f"{path}/{key}") if key else None
            if ds is None or not isinstance(ds, h5py.Dataset) or len(ds.shape) != 1:
                raise UploadError(f"{self.name}: {path!r} has no index dataset (attribute '_index'); expected names "
                                  f"of {what}")
        if ds.shape[0] != n:
            raise UploadError(f"{self.name}: {path!r} names {ds.shape[0]:,} {what} but the matrix has {n:,}; "
                              "expected one name per row/column")
        self.dataset(ds, f"{path!r} index", MAX_NODES + MAX_SIGNALS, numeric=False)
        return ds, field_name


def _names_from(where: tuple[Any, str | None], name: str, what: str) -> list[str]:
    ds, field_name = where
    values = ds.fields(field_name)[()] if field_name else ds[()]
    out = [_h5_text(v) for v in np.asarray(values).ravel()]
    problems = _Problems(name)
    for k, v in enumerate(out):
        if len(v) > MAX_ID_CHARS:
            problems.add(f"{what} {k + 1}", f"name of {len(v):,} characters; names may have at most {MAX_ID_CHARS}")
    problems.raise_if_any()
    return out


def parse_h5ad(data: bytes, name: str = "AnnData .h5ad", *, n_neighbors: int = 15,
               options: PrepareOptions | None = None) -> tuple[GraphUpload, SignalUpload]:
    """Cells x genes AnnData -> (cell graph, gene signals on it). Read from memory; nothing touches disk.

    Every size is read from the file's metadata and checked against the caps and :data:`BUDGET` before any
    matrix is read.

    Parameters
    ----------
    data : bytes
    name : str
    n_neighbors : int
        k of the kNN cell graph when the file has no ``obsp['connectivities']``.
    options : PrepareOptions, optional
        Settings of the run; the budget is checked with them, and :func:`prepare` is run here when given.

    Returns
    -------
    (GraphUpload, SignalUpload)
        Graph (n_cells, n_cells); signals (n_genes, n_cells).
    """
    check_file_size(data, name)
    try:
        import h5py

        f = h5py.File(_io.BytesIO(bytes(data)), "r")
    except Exception as exc:  # noqa: BLE001 - h5py errors on arbitrary bytes
        raise UploadError(f"{name} is not a readable AnnData file ({type(exc).__name__}); expected an .h5ad "
                          "(HDF5) file") from None
    try:
        with f:
            return _parse_h5(_H5(f, name), n_neighbors, options)
    except UploadError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed HDF5 structures
        raise UploadError(f"{name} is not a readable AnnData file ({type(exc).__name__}: {str(exc)[:80]})") from None


def _parse_h5(h: _H5, n_neighbors: int, options: PrepareOptions | None) -> tuple[GraphUpload, SignalUpload]:
    import h5py

    name = h.name
    x_node = h.get("X")
    if x_node is None:
        raise UploadError(f"{name}: no expression matrix 'X'; expected an AnnData file of cells x genes")
    n_cells = h.shape("X", x_node)[0]
    if n_cells < 3 or n_cells > MAX_NODES:
        raise UploadError(f"{name}: {n_cells:,} cells; expected between 3 and {MAX_NODES:,} (cells are the graph "
                          "nodes)")
    raw_path, raw_node = h.first("raw/X", "raw.X")
    use_raw = raw_node is not None
    sig_path, sig_node = (raw_path, raw_node) if use_raw else ("X", x_node)
    sig = h.matrix(sig_path, sig_node, max_entries=MAX_DENSE_ENTRIES, max_stored=MAX_DENSE_ENTRIES)
    if sig.shape[0] != n_cells:
        raise UploadError(f"{name}: {sig_path!r} has {sig.shape[0]:,} rows but X has {n_cells:,}; expected one row "
                          "per cell")
    n_genes = sig.shape[1]
    if n_genes > MAX_SIGNALS:
        raise UploadError(f"{name}: {n_genes:,} genes exceed the limit of {MAX_SIGNALS:,} signals")
    if n_genes < 2:
        raise UploadError(f"{name}: {n_genes} gene(s); expected at least 2 signals to compare")
    cells = h.names("obs", h.get("obs"), n_cells, "cells")
    var_path, var_node = h.first("raw/var", "raw.var") if use_raw else ("var", h.get("var"))
    genes = h.names(var_path, var_node, n_genes, "genes")
    conn_path, conn = h.first("obsp/connectivities", "uns/neighbors/connectivities")
    pca_node, pca_field, pca, knn = None, None, None, None
    conn_meta = None
    if conn is not None:
        conn_meta = h.matrix(conn_path, conn, max_entries=MAX_NODES**2, max_stored=MAX_NNZ)
        if conn_meta.shape != (n_cells, n_cells):
            raise UploadError(f"{name}: {conn_path!r} has shape {conn_meta.shape}; expected ({n_cells}, {n_cells})")
        if conn_meta.kind == "dense" and n_cells * n_cells > MAX_DENSE_ENTRIES:
            raise UploadError(f"{name}: {conn_path!r} is dense {n_cells:,} x {n_cells:,}; dense arrays are limited "
                              f"to {MAX_DENSE_ENTRIES:,} entries: store it sparse")
        graph_nnz = 2 * conn_meta.stored
        how = "graph: obsp['connectivities']" if conn_path.startswith("obsp") else "graph: uns['neighbors']"
    else:
        k = min(n_neighbors, n_cells - 1)
        graph_nnz = 2 * n_cells * k
        node = h.get("obsm/X_pca")
        if node is None:
            legacy = h.get("obsm")
            if isinstance(legacy, h5py.Dataset) and legacy.dtype.names and "X_pca" in legacy.dtype.names:
                node, pca_field = legacy, "X_pca"
        if node is not None:
            if not isinstance(node, h5py.Dataset) or node.shape[0] != n_cells:
                raise UploadError(f"{name}: obsm['X_pca'] does not have one row per cell; expected ({n_cells}, d)")
            h.dataset(node, "obsm['X_pca']", MAX_DENSE_ENTRIES)
            sub = node.dtype[pca_field] if pca_field else node.dtype
            width = sub.shape[0] if pca_field and sub.shape else (node.shape[1] if len(node.shape) == 2 else 0)
            if width < 1 or sub.base.kind not in "biuf":
                raise UploadError(f"{name}: obsm['X_pca'] is not a 2-D array of cells x components")
            pca_node, knn = node, (n_cells, width, k)
            how = f"graph: {k}-NN on obsm['X_pca']"
        else:
            x_meta = sig if not use_raw else h.matrix("X", x_node, max_entries=MAX_DENSE_ENTRIES,
                                                      max_stored=MAX_DENSE_ENTRIES)
            pca, knn = x_meta.shape, (n_cells, min(N_PCS, min(x_meta.shape)), k)
            how = f"graph: {k}-NN on PCA({N_PCS}) of log1p X"
    opts = options or PrepareOptions()
    check_work(n_cells, graph_nnz, n_genes, n_scales=opts.n_scales, max_scale=opts.max_scale, method=opts.method,
               pca=pca, knn=knn)
    report(0.1, f"{name}: sizes checked; reading")
    # ------------------------------------------------------------------ only now: read what is needed
    cell_names = _names_from(cells, name, "cell")
    gene_names = _names_from(genes, name, "gene")
    _check_unique(gene_names, name, "gene name")
    _check_unique(cell_names, name, "cell name")
    report(0.2, f"{name}: reading the expression matrix")
    x = h.read_matrix(sig)
    vals = x.data if sp.issparse(x) else x
    if not np.all(np.isfinite(vals)):
        raise UploadError(f"{name}: {sig_path!r} contains NaN or infinite values; expected finite expression")
    if vals.size and vals.min() < 0:
        raise UploadError(
            f"{name}: {sig_path!r} has negative values (min {vals.min():.3g}); scaled/z-scored data was probably "
            "uploaded, expected non-negative (e.g. log1p-normalised) expression"
        )
    report(0.4, f"{name}: building the cell graph")
    if conn_meta is not None:
        adj = h.read_matrix(conn_meta)
        adj = sp.csr_matrix(adj, dtype=np.float64)
    else:
        if pca_node is not None:
            feats = pca_node.fields(pca_field)[()] if pca_field else pca_node[()]
            feats = np.asarray(feats, dtype=np.float64).reshape(n_cells, -1)
        else:
            xp = x if x_meta is sig else h.read_matrix(x_meta)
            dense = xp.toarray() if sp.issparse(xp) else np.array(xp, dtype=np.float64)
            feats = _pca(np.log1p(np.clip(dense, 0, None, out=dense), out=dense), N_PCS)
            del dense, xp
        adj = _knn_graph(feats, knn[2], name)
    report(0.8, f"{name}: {len(gene_names):,} genes on {n_cells:,} cells")
    signals = np.ascontiguousarray(x.T.toarray() if sp.issparse(x) else x.T)  # (genes, cells)
    src = ".raw.X" if use_raw else ".X"
    graph_adj = _symmetric_graph(adj, name)
    graph = GraphUpload(graph_adj, cell_names, [how, f"signals: the {len(gene_names)} genes of {src}"],
                        _graph_digest(graph_adj, cell_names))
    signal_up = SignalUpload(signals, gene_names, None, [])
    if options is not None:
        _attach_prepared(graph, signal_up, options)
    return graph, signal_up


def _pca(x: np.ndarray, k: int, *, n_iter: int = 4, oversample: int = 10, seed: int = 0) -> np.ndarray:
    """Scores (n, k) of the top-k principal components of ``x`` (n, g) by randomized subspace iteration.

    Halko, Martinsson & Tropp (2011), Algorithm 4.4, with ``n_iter`` re-orthonormalised power iterations: cost
    about 2 (2 n_iter + 2) n g (k + oversample) flops instead of a full SVD's n g min(n, g). Seeded; no global RNG.
    """
    x = x - x.mean(axis=0)
    k = min(k, *x.shape)
    p = min(k + oversample, *x.shape)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(x @ rng.standard_normal((x.shape[1], p)))
    for _ in range(n_iter):
        q, _ = np.linalg.qr(x.T @ q)
        q, _ = np.linalg.qr(x @ q)
    u, s, _ = np.linalg.svd(q.T @ x, full_matrices=False)
    return (q @ u[:, :k]) * s[:k]


def _knn_graph(feats: np.ndarray, k: int, name: str) -> sp.csr_matrix:
    """Symmetric 0/1 kNN graph (Euclidean, self excluded) by blocked brute force: memory O(block * n)."""
    if not np.all(np.isfinite(feats)):
        raise UploadError(f"{name}: embedding used for the cell graph contains NaN or infinite values")
    n = len(feats)
    sq = np.einsum("ij,ij->i", feats, feats)
    ind = np.empty((n, k), dtype=np.int64)
    block = max(1, 2**22 // max(n, 1))
    for s in range(0, n, block):
        e = min(n, s + block)
        d = sq[s:e, None] + sq[None, :] - 2.0 * (feats[s:e] @ feats.T)
        d[np.arange(e - s), np.arange(s, e)] = np.inf
        ind[s:e] = np.argpartition(d, k - 1, axis=1)[:, :k]
    a = sp.coo_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), ind.ravel())), shape=(n, n)).tocsr()
    return ((a + a.T) > 0).astype(np.float64).tocsr()


def _symmetric_graph(a: sp.csr_matrix, name: str) -> sp.csr_matrix:
    if a.shape[0] != a.shape[1]:
        raise UploadError(f"{name}: graph must be square, got {a.shape}")
    if not np.all(np.isfinite(a.data)) or (a.data < 0).any():
        raise UploadError(f"{name}: graph has NaN, infinite or negative entries; expected affinities >= 0")
    a = (a - sp.diags(a.diagonal())).tocsr()
    a.eliminate_zeros()
    if a.nnz and abs(a - a.T).max() > 1e-8:
        a = ((a + a.T) * 0.5).tocsr()
    return a


# ----------------------------------------------------------------------------------------------- the budget
def estimate_work(n_nodes: int, nnz: int, n_signals: int, *, n_scales: int = 6, max_scale: int = 10,
                  method: str = "exact", cheb_order: int = 128, pca: tuple[int, int] | None = None,
                  knn: tuple[int, int, int] | None = None, budget: WorkBudget = BUDGET) -> WorkEstimate:
    """What an upload of this size will cost, from its sizes alone.

    Parameters
    ----------
    n_nodes, nnz, n_signals : int
        Graph nodes N, stored adjacency entries, signals m.
    n_scales, max_scale, method, cheb_order
        The run's settings: S = min(n_scales, K + 1) retained scales of the dyadic powers up to 2^K.
    pca : (n, g), optional
        A PCA of a dense n x g matrix is needed (an .h5ad without a graph or X_pca).
    knn : (n, d, k), optional
        A kNN graph on n points of dimension d is needed.
    budget : WorkBudget
        The rates used to turn operation counts into seconds.

    Returns
    -------
    WorkEstimate
        Terms: signals (dense m x N, two float64 copies), operator, diffusion (dense powers for N <= 2000, else
        2^K sparse steps, or a Chebyshev series), embeddings (m x N x S float32 for the unbalanced and balanced
        runs, plus a float64 copy for distances), pairwise distances (four m x m float64 matrices, L1 over
        N x S dimensions twice and N dimensions twice), and PCA / kNN when needed.
    """
    n, m = float(n_nodes), float(n_signals)
    s = float(min(n_scales, max_scale + 1))
    b = budget
    terms = [("signals (m x N dense, float64)", 2 * 8 * m * n, 4 * m * n / b.elementwise),
             ("graph operator", 6 * 16 * nnz, 20 * nnz / b.elementwise)]
    if method == "cheb":
        terms.append(("diffusion (Chebyshev series)", (s + 2) * 4 * n * m,
                      cheb_order * (2 * nnz * m + s * n * m) / b.sparse_entries))
    elif n_nodes <= _DENSE_ROUTE_NODES:
        terms.append(("diffusion (dense powers, K x N^3)", (s + 2) * 4 * n * n,
                      (max_scale * 2 * n**3 + s * 2 * n * n * m) / b.dense_flops))
    else:
        terms.append(("diffusion (2^K sparse steps)", (s + 2) * 4 * n * m,
                      2.0**max_scale * 2 * nnz * m / b.sparse_entries))
    terms.append(("embeddings (m*N*S entries)", (2 * 4 + 8) * m * n * s, 3 * m * n * s / b.elementwise))
    terms.append(("pairwise distances (m x m)", 4.5 * 8 * m * m, (m * m * n * s + m * m * n) / b.l1_dims))
    if pca is not None:
        r, g = float(pca[0]), float(pca[1])
        k = min(N_PCS + 10, r, g)
        terms.append((f"PCA({N_PCS}) of a dense {pca[0]:,} x {pca[1]:,} matrix", 3 * 8 * r * g,
                      2 * (2 * 4 + 2) * r * g * k / b.dense_flops + 4 * r * g / b.elementwise))
    if knn is not None:
        r, d, k = (float(v) for v in knn)
        terms.append((f"{knn[2]}-NN graph on {knn[0]:,} points", 8 * (r * d + 2**22 + 2 * r * k),
                      2 * r * r * d / b.dense_flops + 3 * r * r / b.elementwise))
    return WorkEstimate(sum(t[1] for t in terms), sum(t[2] for t in terms), tuple(terms))


def check_work(n_nodes: int, nnz: int, n_signals: int, *, n_scales: int = 6, max_scale: int = 10,
               method: str = "exact", cheb_order: int = 128, pca: tuple[int, int] | None = None,
               knn: tuple[int, int, int] | None = None, budget: WorkBudget = BUDGET) -> WorkEstimate:
    """Refuse sizes beyond the caps or whose :func:`estimate_work` exceeds ``budget``; return the estimate.

    ``max_scale=0`` (K chosen from the graph's diameter at run time) is costed at its largest value, 12.

    Raises
    ------
    UploadError
        Naming the cap or the budget, the estimate and its largest term.
    """
    if n_nodes > MAX_NODES:
        raise UploadError(f"{n_nodes:,} nodes exceed the limit of {MAX_NODES:,}")
    if nnz > 2 * MAX_NNZ:  # a symmetrised graph may hold twice the stored entries
        raise UploadError(f"{nnz:,} adjacency entries exceed the limit of {MAX_NNZ:,}")
    if n_signals > MAX_SIGNALS:
        raise UploadError(f"{n_signals:,} signals exceed the limit of {MAX_SIGNALS:,}")
    if n_signals * n_nodes > MAX_DENSE_ENTRIES:
        raise UploadError(f"{n_signals:,} signals x {n_nodes:,} nodes = {n_signals * n_nodes:,} entries; dense signal "
                          f"matrices are limited to {MAX_DENSE_ENTRIES:,} entries")
    est = estimate_work(n_nodes, nnz, n_signals, n_scales=n_scales, max_scale=max_scale or 12, method=method,
                        cheb_order=cheb_order, pca=pca, knn=knn, budget=budget)
    if est.memory_bytes > budget.memory_bytes:
        what, nbytes, _ = est.largest("memory")
        raise UploadError(f"this upload would hold about {_mib(est.memory_bytes)} of arrays, over the budget of "
                          f"{budget.describe()}; the largest part is {what}: {_mib(nbytes)}. Use fewer signals, "
                          "nodes or scales")
    if est.seconds > budget.seconds:
        what, _, secs = est.largest("time")
        raise UploadError(f"this upload would take about {est.seconds:,.0f} s of one core, over the budget of "
                          f"{budget.describe()}; the largest part is {what}: {secs:,.0f} s. Lower K (max scale), "
                          "or use fewer signals or nodes")
    return est


def exact_comparison_allowed(n_nodes: int, n_pairs: int) -> bool:
    """Exact EMD comparisons only for N <= 1000 nodes and <= 500 pairs."""
    return n_nodes <= MAX_EXACT_NODES and n_pairs <= MAX_EXACT_PAIRS


def prepare(
    graph: GraphUpload,
    signals: SignalUpload,
    *,
    largest_component_only: bool = False,
    balanced: bool = False,
    n_scales: int = 6,
    max_scale: int = 10,
    method: str = "exact",
) -> PreparedData:
    """Combine a graph and signals: reject isolated nodes and disconnected graphs (or keep the largest component
    and report the mass dropped per signal), flag zero-mass signals, apply the size guards and the budget.

    When the parser already ran this with the same settings (``SignalUpload.prepared``, see
    :func:`parse_signals_for`), that result is returned without redoing the work.

    Returns
    -------
    PreparedData
        Adjacency (N', N'), signals (m, N') on the kept nodes.
    """
    opts = PrepareOptions(largest_component_only, balanced, n_scales, max_scale, method)
    if signals.prepared is not None and graph.digest and signals.prepared_key == (graph.digest, opts):
        return signals.prepared
    a = graph.adjacency
    n = a.shape[0]
    x = signals.signals
    if x.shape[1] != n:
        raise UploadError(f"signals have {x.shape[1]} node columns but the graph has {n} nodes")
    report_lines = list(graph.warnings) + list(signals.warnings)
    deg = np.asarray(a.sum(axis=1)).ravel()
    n_comp, lab = connected_components(a, directed=False)
    keep = np.ones(n, dtype=bool)
    dropped = np.zeros(len(x))
    if n_comp > 1:
        iso = [graph.node_ids[i] for i in np.flatnonzero(deg <= 0)]
        if not largest_component_only:
            if iso:
                raise UploadError(f"isolated node(s) {_list(iso)} have no edges (degree 0 divides by zero); "
                                  "remove them or choose 'largest component only'")
            sizes = np.bincount(lab)
            raise UploadError(f"graph is disconnected: {n_comp} components of sizes "
                              f"{sorted(sizes.tolist(), reverse=True)[:5]}; mass never mixes between components, "
                              "choose 'largest component only'")
        keep = lab == np.argmax(np.bincount(lab))
        dropped = x[:, ~keep].sum(axis=1)
        report_lines.append(f"largest component only: kept {int(keep.sum())} of {n} nodes; dropped mass per signal "
                            f"max {dropped.max():.4g}, mean {dropped.mean():.4g}")
        a = a[keep][:, keep].tocsr()
        x = x[:, keep]
    if a.shape[0] < 2:
        raise UploadError("the graph has fewer than 2 connected nodes")
    mass = x.sum(axis=1)
    zero = [signals.signal_ids[i] for i in np.flatnonzero(mass <= 0)]
    if zero:
        if balanced:
            raise UploadError(f"signal(s) {_list(zero)} have zero mass on the graph; balanced mode divides by the "
                              "mass, so every signal needs a positive total")
        report_lines.append(f"{len(zero)} signal(s) with zero mass ({_list(zero)}): their UDEMD distance to any "
                            "signal is that signal's mass term only")
    if len(x) < 2:
        raise UploadError(f"{len(x)} signal(s); expected at least 2 to compare")
    check_work(a.shape[0], a.nnz, len(x), n_scales=n_scales, max_scale=max_scale, method=method)
    ids = [v for v, k in zip(graph.node_ids, keep) if k]
    return PreparedData(a, ids, np.ascontiguousarray(x), list(signals.signal_ids), signals.labels, dropped,
                        report_lines)


# ----------------------------------------------------------------------------------------------- downloads
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "udemd"
_EXAMPLES = (
    ("Edge list (CSV)", "example_edges.csv", "text/csv"),
    ("Signals (CSV)", "example_signals.csv", "text/csv"),
    ("Adjacency (.npz)", "example_adjacency.npz", "application/octet-stream"),
    ("Node ids (CSV)", "example_nodes.csv", "text/csv"),
    ("Cells x genes (.h5ad)", "example_cells.h5ad", "application/octet-stream"),
)


def example_files() -> list[tuple[str, str, bytes, str]]:
    """The example uploads in ``assets/udemd/``, for download buttons: ``(label, file name, bytes, MIME type)``.

    The edge list and the adjacency ``.npz`` (with its node ids) hold the same 63-node tree, on which the signals
    file's 40 patients live; the ``.h5ad`` holds 120 synthetic cells along a pseudo-time, with 30 genes that each
    peak at their own time (log1p Poisson counts, seed 0; ``obs['stage']`` is early, middle or late).
    Files missing from an installation without the assets are left out.
    """
    out = []
    for label, fname, mime in _EXAMPLES:
        path = EXAMPLES_DIR / fname
        if path.is_file():
            out.append((label, fname, path.read_bytes(), mime))
    return out


def embedding_csv(signal_ids: list[str], embeddings: np.ndarray, labels: list[str] | None = None) -> bytes:
    """CSV bytes of embeddings (m, D): columns id[,label],e0..e{D-1}; built in memory."""
    buf = _io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id"] + (["label"] if labels is not None else []) + [f"e{j}" for j in range(embeddings.shape[1])])
    for i, sid in enumerate(signal_ids):
        w.writerow([sid] + ([labels[i]] if labels is not None else []) + [f"{v:.6g}" for v in embeddings[i]])
    return buf.getvalue().encode()


def neighbors_csv(signal_ids: list[str], indices: np.ndarray, distances: np.ndarray) -> bytes:
    """CSV bytes of a kNN table: id,rank,neighbor,distance (one row per neighbour)."""
    buf = _io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "rank", "neighbor", "distance"])
    for i, sid in enumerate(signal_ids):
        for r, (j, d) in enumerate(zip(indices[i], distances[i]), start=1):
            w.writerow([sid, r, signal_ids[int(j)], f"{d:.6g}"])
    return buf.getvalue().encode()
