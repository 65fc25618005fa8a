"""Parsing and validation of user uploads for UDEMD (card 02, section 4 "Upload own graph signals").

Everything works on ``bytes`` in memory: nothing is written to disk, nothing is unpickled (``.npz`` files are
read with ``allow_pickle=False``). Every rejection raises :class:`UploadError` (a ``ValueError``) whose message
names the offending row, column or id and what was expected. Non-fatal findings (duplicate edges, symmetrised
adjacency, graph nodes missing from the signals) are returned as warning lines.

Accepted inputs
---------------
- Graph as an edge-list CSV ``src,dst[,weight]`` (string ids, undirected, weight finite and > 0, default 1;
  duplicate edges keep the max weight, self-loops are dropped; both are reported).
- Graph as an adjacency ``.npz`` written by ``scipy.sparse.save_npz`` (or ``numpy.savez`` with one 2-D array),
  square and non-negative; symmetrised as (A + A^T)/2 when asymmetric beyond 1e-8; node ids from an optional
  one-column ``nodes.csv`` (row order = index), else 0..N-1.
- Signals CSV, wide (``id[,label],<node id>...``, one row per signal) or long (``signal_id,node_id,value[,label]``).
- AnnData ``.h5ad`` (cells x genes): graph from ``obsp['connectivities']``, else a kNN on ``obsm['X_pca']``, else on
  PCA(50) of log1p X; signals are the genes from ``.raw.X`` if present, else ``.X``.
"""
from __future__ import annotations

import csv
import io as _io
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = [
    "UploadError",
    "GraphUpload",
    "SignalUpload",
    "PreparedData",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_NNZ",
    "MAX_SIGNALS",
    "MAX_EMBEDDING_ENTRIES",
    "MAX_FLOPS",
    "MAX_EXACT_NODES",
    "MAX_EXACT_PAIRS",
    "check_file_size",
    "parse_edge_list",
    "parse_adjacency_npz",
    "parse_signals_csv",
    "parse_h5ad",
    "prepare",
    "check_work",
    "exact_comparison_allowed",
    "embedding_csv",
    "neighbors_csv",
]

MAX_FILE_BYTES = 200 * 1024 * 1024  # files over 200 MB
MAX_NODES = 20_000
MAX_NNZ = 2_000_000
MAX_SIGNALS = 20_000
MAX_EMBEDDING_ENTRIES = 250_000_000  # m * N * S, about 1 GB in float32
MAX_FLOPS = 1e11  # min(2^K, J) * nnz * m or K * N^3
MAX_EXACT_NODES = 1000
MAX_EXACT_PAIRS = 500
_MAX_REPORTED = 5  # ids listed in a message


class UploadError(ValueError):
    """An uploaded file was rejected; the message says where and what was expected."""


@dataclass
class GraphUpload:
    """A parsed graph: adjacency (N, N) symmetric CSR, node ids (N,), warning lines."""

    adjacency: sp.csr_matrix
    node_ids: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass
class SignalUpload:
    """Parsed signals: values (m, N) aligned to the graph's node order, ids (m,), labels or None, warnings."""

    signals: np.ndarray
    signal_ids: list[str]
    labels: list[str] | None
    warnings: list[str] = field(default_factory=list)


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


def _list(items) -> str:
    items = list(items)
    head = ", ".join(repr(str(x)) for x in items[:_MAX_REPORTED])
    return head + (f" and {len(items) - _MAX_REPORTED} more" if len(items) > _MAX_REPORTED else "")


# ----------------------------------------------------------------------------------------------- text helpers
def check_file_size(data: bytes, name: str = "file") -> None:
    """Reject empty files and files over 200 MB."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UploadError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise UploadError(f"{name} is empty; expected a non-empty file")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name} is {len(data) / 2**20:.0f} MB; files over {MAX_FILE_BYTES // 2**20} MB are refused")


def _read_csv(data: bytes, name: str) -> list[list[str]]:
    check_file_size(data, name)
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{name} is not UTF-8 text (byte {exc.start}); expected a CSV file") from None
    if "\x00" in text:
        raise UploadError(f"{name} contains NUL bytes; expected a plain-text CSV file")
    try:
        rows = [[c.strip() for c in row] for row in csv.reader(_io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise UploadError(f"{name} is not a readable CSV: {exc}") from None
    rows = [r for r in rows if any(c != "" for c in r)]
    if not rows:
        raise UploadError(f"{name} has no rows; expected a header line and data")
    return rows


def _number(text: str, where: str) -> float:
    try:
        val = float(text)
    except ValueError:
        raise UploadError(f"{where}: {text[:40]!r} is not a number") from None
    if not math.isfinite(val):
        raise UploadError(f"{where}: value {text[:40]!r} is NaN or infinite; expected a finite number")
    return val


# ----------------------------------------------------------------------------------------------- graphs
def parse_edge_list(data: bytes, name: str = "edge list") -> GraphUpload:
    """Parse an undirected edge-list CSV with header ``src,dst[,weight]``.

    Returns
    -------
    GraphUpload with node ids in order of first appearance.
    """
    rows = _read_csv(data, name)
    header = [h.lower() for h in rows[0]]
    if header[:2] != ["src", "dst"] or len(header) not in (2, 3) or (len(header) == 3 and header[2] != "weight"):
        raise UploadError(f"{name}: header must be 'src,dst' or 'src,dst,weight', got {','.join(rows[0])[:80]!r}")
    has_w = len(header) == 3
    index: dict[str, int] = {}
    edges: dict[tuple[int, int], float] = {}
    dup, loops = 0, 0
    loop_nodes = set()
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UploadError(f"{name} line {r}: expected {len(header)} columns ({','.join(header)}), got {len(row)}")
        src, dst = row[0], row[1]
        if src == "" or dst == "":
            raise UploadError(f"{name} line {r}: empty node id; expected non-empty src and dst")
        w = 1.0 if not has_w or row[2] == "" else _number(row[2], f"{name} line {r}, column 'weight'")
        if w <= 0:
            raise UploadError(f"{name} line {r}: weight {row[2]!r} must be > 0 (affinity, not length)")
        i = index.setdefault(src, len(index))
        j = index.setdefault(dst, len(index))
        if i == j:
            loops += 1
            loop_nodes.add(src)
            continue
        key = (min(i, j), max(i, j))
        if key in edges:
            dup += 1
            edges[key] = max(edges[key], w)
        else:
            edges[key] = w
        if len(index) > MAX_NODES:
            raise UploadError(f"{name}: more than {MAX_NODES} nodes; the limit is {MAX_NODES}")
    if not edges:
        raise UploadError(f"{name}: no edges between distinct nodes; expected at least one 'src,dst' row")
    if 2 * len(edges) > MAX_NNZ:
        raise UploadError(f"{name}: {2 * len(edges)} adjacency entries exceed the limit of {MAX_NNZ}")
    n = len(index)
    ij = np.array(list(edges.keys()), dtype=np.int64)
    w = np.array(list(edges.values()))
    a = sp.coo_matrix((w, (ij[:, 0], ij[:, 1])), shape=(n, n))
    a = (a + a.T).tocsr()
    warns = []
    if dup:
        warns.append(f"{dup} duplicate edge(s) merged, keeping the largest weight")
    if loops:
        warns.append(f"{loops} self-loop(s) dropped (nodes {_list(sorted(loop_nodes))}); the lazy option re-adds them")
    return GraphUpload(a, list(index.keys()), warns)


def _npz_matrix(data: bytes, name: str) -> sp.csr_matrix:
    check_file_size(data, name)
    try:
        with np.load(_io.BytesIO(bytes(data)), allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UploadError(f"{name} holds pickled objects, which are refused; save with scipy.sparse.save_npz") from None
        raise UploadError(f"{name} is not a readable .npz archive ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - zipfile/np errors on arbitrary bytes
        raise UploadError(f"{name} is not a readable .npz archive ({type(exc).__name__})") from None
    try:
        if "format" in files:
            fmt = files["format"].item()
            fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
            shape = tuple(int(s) for s in files["shape"])
            if fmt in ("csr", "csc"):
                cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
                mat = cls((files["data"], files["indices"], files["indptr"]), shape=shape)
            elif fmt == "coo":
                mat = sp.coo_matrix((files["data"], (files["row"], files["col"])), shape=shape)
            else:
                raise UploadError(f"{name}: sparse format {fmt!r} is not supported; expected csr, csc or coo")
        else:
            arrays = [v for v in files.values() if v.ndim == 2]
            if len(arrays) != 1:
                raise UploadError(f"{name}: expected scipy.sparse.save_npz output or exactly one 2-D array, "
                                  f"found keys {_list(files)}")
            mat = sp.csr_matrix(arrays[0])
        if not np.issubdtype(mat.dtype, np.number) or np.iscomplexobj(mat.data):
            raise UploadError(f"{name}: adjacency dtype {mat.dtype} is not a real number type")
        return sp.csr_matrix(mat, dtype=np.float64)
    except UploadError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed index arrays
        raise UploadError(f"{name}: malformed sparse matrix ({type(exc).__name__}: {str(exc)[:80]})") from None


def parse_adjacency_npz(data: bytes, nodes_csv: bytes | None = None, name: str = "adjacency .npz") -> GraphUpload:
    """Parse an adjacency ``.npz`` (square, finite, non-negative) and optional ``nodes.csv`` of ids."""
    a = _npz_matrix(data, name)
    if a.shape[0] != a.shape[1]:
        raise UploadError(f"{name}: adjacency must be square, got shape {a.shape}")
    n = a.shape[0]
    if n < 2:
        raise UploadError(f"{name}: adjacency needs at least 2 nodes, got {n}")
    if n > MAX_NODES or a.nnz > MAX_NNZ:
        raise UploadError(f"{name}: {n} nodes / {a.nnz} entries exceed the limits {MAX_NODES} / {MAX_NNZ}")
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
    if nodes_csv is not None:
        rows = _read_csv(nodes_csv, "nodes.csv")
        if len(rows[0]) != 1:
            raise UploadError(f"nodes.csv: expected one column of node ids, got {len(rows[0])} columns in line 1")
        ids = [r[0] for r in rows]
        if len(ids) == n + 1:  # a header line
            ids = ids[1:]
        if len(ids) != n:
            raise UploadError(f"nodes.csv: {len(ids)} ids for an adjacency with {n} nodes; expected one id per row")
        _check_unique(ids, "nodes.csv", "node id")
    else:
        ids = [str(i) for i in range(n)]
    return GraphUpload(a, ids, warns)


def _check_unique(ids: list[str], name: str, what: str) -> None:
    seen, dups = set(), []
    for x in ids:
        if x in seen:
            dups.append(x)
        seen.add(x)
    if dups:
        raise UploadError(f"{name}: duplicate {what}(s) {_list(dict.fromkeys(dups))}; ids must be unique")
    if any(x == "" for x in ids):
        raise UploadError(f"{name}: empty {what}; ids must be non-empty")


# ----------------------------------------------------------------------------------------------- signals
def parse_signals_csv(data: bytes, node_ids: list[str], name: str = "signals CSV") -> SignalUpload:
    """Parse signals in wide (``id[,label],<node>...``) or long (``signal_id,node_id,value[,label]``) form.

    Values must be finite and >= 0; every node column must be a graph node; graph nodes absent from the file are
    zero (reported).
    """
    rows = _read_csv(data, name)
    header = rows[0]
    low = [h.lower() for h in header]
    pos = {v: i for i, v in enumerate(node_ids)}
    if low[:3] == ["signal_id", "node_id", "value"]:
        return _parse_long(rows, pos, node_ids, name)
    if not low or low[0] != "id":
        raise UploadError(
            f"{name}: first header must be 'id' (wide form) or the header must start 'signal_id,node_id,value' "
            f"(long form), got {','.join(header)[:80]!r}"
        )
    has_label = len(low) > 1 and low[1] == "label"
    cols = header[(2 if has_label else 1):]
    if not cols:
        raise UploadError(f"{name}: no node columns after {'id,label' if has_label else 'id'}")
    _check_unique(cols, name, "node column")
    unknown = [c for c in cols if c not in pos]
    if unknown:
        raise UploadError(f"{name}: column(s) {_list(unknown)} are not nodes of the graph; expected graph node ids")
    ids, labels, vals = [], [], []
    width = len(header)
    first = 2 if has_label else 1
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise UploadError(f"{name} line {r}: expected {width} columns, got {len(row)}")
        ids.append(row[0])
        if has_label:
            labels.append(row[1])
        vals.append(row[first:])
        if len(ids) > MAX_SIGNALS:
            raise UploadError(f"{name}: more than {MAX_SIGNALS} signals; the limit is {MAX_SIGNALS}")
    if not ids:
        raise UploadError(f"{name}: no signal rows after the header")
    _check_unique(ids, name, "signal id")
    try:
        block = np.array(vals, dtype=np.float64)  # fast path
    except ValueError:
        block = None
    if block is None or not np.all(np.isfinite(block)) or (block < 0).any():
        for r, row in enumerate(vals, start=2):  # locate the first offending cell
            for c, txt in enumerate(row):
                v = _number(txt, f"{name} line {r}, column {cols[c]!r}")
                if v < 0:
                    raise UploadError(f"{name} line {r}, column {cols[c]!r}: value {txt!r} is negative; expected >= 0")
    x = np.zeros((len(ids), len(node_ids)))
    x[:, [pos[c] for c in cols]] = block
    warns = []
    missing = len(node_ids) - len(cols)
    if missing:
        absent = [v for v in node_ids if v not in set(cols)]
        warns.append(f"{missing} graph node(s) absent from the signal columns are treated as 0 ({_list(absent)})")
    return SignalUpload(x, ids, labels if has_label else None, warns)


def _parse_long(rows, pos, node_ids, name) -> SignalUpload:
    header = [h.lower() for h in rows[0]]
    if len(header) not in (3, 4) or (len(header) == 4 and header[3] != "label"):
        raise UploadError(f"{name}: long form header must be 'signal_id,node_id,value[,label]', "
                          f"got {','.join(rows[0])[:80]!r}")
    has_label = len(header) == 4
    sig: dict[str, int] = {}
    labels: dict[str, str] = {}
    entries = []
    dup = 0
    seen = set()
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UploadError(f"{name} line {r}: expected {len(header)} columns, got {len(row)}")
        s, v = row[0], row[1]
        if s == "":
            raise UploadError(f"{name} line {r}: empty signal_id")
        if v not in pos:
            raise UploadError(f"{name} line {r}: node_id {v[:40]!r} is not a node of the graph")
        val = _number(row[2], f"{name} line {r}, column 'value'")
        if val < 0:
            raise UploadError(f"{name} line {r}, column 'value': {row[2]!r} is negative; expected >= 0")
        if has_label:
            if s in labels and labels[s] != row[3]:
                raise UploadError(f"{name} line {r}: signal {s!r} has label {row[3]!r} but earlier {labels[s]!r}")
            labels[s] = row[3]
        sig.setdefault(s, len(sig))
        if len(sig) > MAX_SIGNALS:
            raise UploadError(f"{name}: more than {MAX_SIGNALS} signals; the limit is {MAX_SIGNALS}")
        if (s, v) in seen:
            dup += 1
        seen.add((s, v))
        entries.append((sig[s], pos[v], val))
    if not entries:
        raise UploadError(f"{name}: no rows after the header")
    e = np.array(entries)
    x = np.zeros((len(sig), len(node_ids)))
    np.add.at(x, (e[:, 0].astype(int), e[:, 1].astype(int)), e[:, 2])
    warns = [f"{dup} repeated (signal_id, node_id) row(s) summed"] if dup else []
    ids = list(sig.keys())
    return SignalUpload(x, ids, [labels[s] for s in ids] if has_label else None, warns)


# ----------------------------------------------------------------------------------------------- AnnData
def parse_h5ad(data: bytes, name: str = "AnnData .h5ad", *, n_neighbors: int = 15) -> tuple[GraphUpload, SignalUpload]:
    """Cells x genes AnnData -> (cell graph, gene signals on it). Read from memory; nothing touches disk."""
    check_file_size(data, name)
    try:
        import anndata

        ad = anndata.read_h5ad(_io.BytesIO(bytes(data)))  # in memory, not backed
    except Exception as exc:  # noqa: BLE001 - h5py/anndata errors on arbitrary bytes
        raise UploadError(f"{name} is not a readable AnnData file ({type(exc).__name__})") from None
    if not isinstance(ad, anndata.AnnData):
        raise UploadError(f"{name}: the file holds {type(ad).__name__}, expected an AnnData object")
    n_cells = ad.n_obs
    if n_cells < 3 or n_cells > MAX_NODES:
        raise UploadError(f"{name}: {n_cells} cells; expected between 3 and {MAX_NODES} (cells are the graph nodes)")
    warns = []
    if "connectivities" in ad.obsp:
        adj = sp.csr_matrix(ad.obsp["connectivities"], dtype=np.float64)
        warns.append("graph: obsp['connectivities']")
    else:
        if "X_pca" in ad.obsm:
            feats = np.asarray(ad.obsm["X_pca"], dtype=np.float64)
            warns.append(f"graph: {n_neighbors}-NN on obsm['X_pca']")
        else:
            feats = _pca(np.log1p(np.clip(_dense(ad.X), 0, None)), 50)
            warns.append(f"graph: {n_neighbors}-NN on PCA(50) of log1p X")
        adj = _knn_graph(feats, min(n_neighbors, n_cells - 1), name)
    use_raw = ad.raw is not None
    x = ad.raw.X if use_raw else ad.X
    genes = list(map(str, ad.raw.var_names if use_raw else ad.var_names))
    if x is None:
        raise UploadError(f"{name}: no expression matrix in .raw.X or .X")
    x = sp.csr_matrix(x, dtype=np.float64) if sp.issparse(x) else np.asarray(x, dtype=np.float64)
    vals = x.data if sp.issparse(x) else x
    src = ".raw.X" if use_raw else ".X"
    if not np.all(np.isfinite(vals)):
        raise UploadError(f"{name}: {src} contains NaN or infinite values; expected finite expression")
    if vals.size and vals.min() < 0:
        raise UploadError(
            f"{name}: {src} has negative values (min {vals.min():.3g}); scaled/z-scored data was probably uploaded, "
            "expected non-negative (e.g. log1p-normalised) expression"
        )
    if len(genes) > MAX_SIGNALS:
        raise UploadError(f"{name}: {len(genes)} genes exceed the limit of {MAX_SIGNALS} signals")
    signals = np.ascontiguousarray((x.T.toarray() if sp.issparse(x) else x.T))  # (genes, cells)
    _check_unique(genes, name, "gene name")
    cells = list(map(str, ad.obs_names))
    _check_unique(cells, name, "cell name")
    warns.append(f"signals: the {len(genes)} genes of {src}")
    graph = GraphUpload(_symmetric_graph(adj, name), cells, warns)
    return graph, SignalUpload(signals, genes, None, [])


def _dense(x) -> np.ndarray:
    return x.toarray() if sp.issparse(x) else np.asarray(x, dtype=np.float64)


def _pca(x: np.ndarray, k: int) -> np.ndarray:
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    k = min(k, len(s))
    return u[:, :k] * s[:k]


def _knn_graph(feats: np.ndarray, k: int, name: str) -> sp.csr_matrix:
    from sklearn.neighbors import NearestNeighbors

    if not np.all(np.isfinite(feats)):
        raise UploadError(f"{name}: embedding used for the cell graph contains NaN or infinite values")
    _, ind = NearestNeighbors(n_neighbors=k + 1).fit(feats).kneighbors(feats)
    n = len(feats)
    a = sp.coo_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), ind[:, 1:].ravel())), shape=(n, n)).tocsr()
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


# ----------------------------------------------------------------------------------------------- assembly
def check_work(n_nodes: int, nnz: int, n_signals: int, *, n_scales: int = 6, max_scale: int = 10,
               method: str = "exact", cheb_order: int = 128) -> None:
    """Size guards: nodes, entries, signals, embedding entries m*N*S and estimated flops."""
    if n_nodes > MAX_NODES:
        raise UploadError(f"{n_nodes} nodes exceed the limit of {MAX_NODES}")
    if nnz > MAX_NNZ:
        raise UploadError(f"{nnz} adjacency entries exceed the limit of {MAX_NNZ:.0e}")
    if n_signals > MAX_SIGNALS:
        raise UploadError(f"{n_signals} signals exceed the limit of {MAX_SIGNALS}")
    s = min(n_scales, max_scale + 1)
    if n_signals * n_nodes * s > MAX_EMBEDDING_ENTRIES:
        raise UploadError(f"embedding would hold {n_signals * n_nodes * s:.2e} entries (m*N*S); the limit is "
                          f"{MAX_EMBEDDING_ENTRIES:.1e} (about 1 GB in float32): use fewer signals or scales")
    steps = min(2**max_scale, cheb_order) if method == "cheb" else 2**max_scale
    work = min(steps * nnz * n_signals, max_scale * float(n_nodes) ** 3)
    if work > MAX_FLOPS:
        raise UploadError(f"estimated work {work:.1e} flops exceeds {MAX_FLOPS:.0e}: lower K or use fewer signals")


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
    and report the mass dropped per signal), flag zero-mass signals, apply the size guards."""
    a = graph.adjacency
    n = a.shape[0]
    x = signals.signals
    if x.shape[1] != n:
        raise UploadError(f"signals have {x.shape[1]} node columns but the graph has {n} nodes")
    report = list(graph.warnings) + list(signals.warnings)
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
        report.append(f"largest component only: kept {int(keep.sum())} of {n} nodes; dropped mass per signal "
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
        report.append(f"{len(zero)} signal(s) with zero mass ({_list(zero)}): their UDEMD distance to any signal "
                      "is that signal's mass term only")
    if len(x) < 2:
        raise UploadError(f"{len(x)} signal(s); expected at least 2 to compare")
    check_work(a.shape[0], a.nnz, len(x), n_scales=n_scales, max_scale=max_scale, method=method)
    ids = [v for v, k in zip(graph.node_ids, keep) if k]
    return PreparedData(a, ids, np.ascontiguousarray(x), list(signals.signal_ids), signals.labels, dropped, report)


# ----------------------------------------------------------------------------------------------- downloads
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
