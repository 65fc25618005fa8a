"""Hostile uploads (issue 21): decompression and work bombs are refused from their metadata, fast and small.

Each bomb is built here without ever holding its inflated content (deflate blocks ended by a full flush can be
repeated, and CRC-32 of a repetition follows from the GF(2) algebra of the CRC), checked to be a genuine file of its
kind where that is cheap, then parsed by the library in a sandbox child (the dashboard's own
:data:`neurodyn.udemd.io.SANDBOX`), which measures the call's time and its peak resident-memory growth.
Every case must be refused with a message naming the limit, within 2 s, with less than 200 MB of growth.
"""

from __future__ import annotations

import io
import re
import struct
import time
import tracemalloc
import zipfile
import zlib

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodyn.udemd import io as uio
from neurodyn.udemd.io import UploadError

LIMIT_S = 2.0
LIMIT_GROWTH = 200 * 2**20
_POLY = 0xEDB88320


# ---------------------------------------------------------------------------------------------- CRC-32 algebra
def _gf2_apply(op: list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= op[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(op: list[int]) -> list[int]:
    return [_gf2_apply(op, op[i]) for i in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc(A), crc(B) and len(B): shift crc(A)'s register through len(B) zero bytes."""
    if len2 <= 0:
        return crc1
    odd = [_POLY] + [1 << i for i in range(31)]  # one zero bit through the reflected register
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # first pass: one zero byte
        if len2 & 1:
            crc1 = _gf2_apply(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_apply(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def repeated(block: bytes, times: int, level: int = 9) -> tuple[bytes, int, int]:
    """Raw deflate of ``block * times`` without building it: (compressed body without a final block, crc, size)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    one = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no reference to earlier data
    crc, size, unit_crc, unit_len, k = 0, 0, zlib.crc32(block), len(block), times
    while k:  # CRC of the repetition by doubling
        if k & 1:
            crc, size = crc32_combine(crc, unit_crc, unit_len), size + unit_len
        unit_crc, unit_len, k = crc32_combine(unit_crc, unit_crc, unit_len), 2 * unit_len, k >> 1
    return one * times, crc, size


def deflate_parts(parts: list[tuple[bytes, int]]) -> tuple[bytes, int, int]:
    """Raw deflate stream of the concatenation of ``block * times`` parts: (stream, crc, size)."""
    body, crc, size = b"", 0, 0
    for block, times in parts:
        b, c, s = repeated(block, times)
        body, crc, size = body + b, crc32_combine(crc, c, s), size + s
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    return body + end, crc, size


def make_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, stored bytes, crc, uncompressed size, method) members with plain (non-zip64) headers."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, body, crc, usize, method in members:
        off = out.tell()
        nb = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(body), usize, len(nb), 0))
        out.write(nb + body)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(body), usize,
                                  len(nb), 0, 0, 0, 0, 0, off))
        central.write(nb)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), start, 0))
    return out.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def zeros_npz(shape: tuple[int, int], descr: str = "<f4") -> bytes:
    """``numpy.savez_compressed(arr_0=np.zeros(shape))``-equivalent bytes, built without the array."""
    head = npy_header(shape, descr)
    nbytes = int(np.prod(shape)) * np.dtype(descr).itemsize
    chunk = 1 << 24
    stream, crc, size = deflate_parts([(head, 1), (bytes(chunk), nbytes // chunk), (bytes(nbytes % chunk), 1)])
    assert size == len(head) + nbytes
    return make_zip([("arr_0.npy", stream, crc, size, zipfile.ZIP_DEFLATED)])


def npz_of(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def csr_npz(mat) -> bytes:
    buf = io.BytesIO()
    sp.save_npz(buf, sp.csr_matrix(mat))
    return buf.getvalue()


def csr_parts(n: int = 100, nnz_per_row: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    a = sp.random(n, n, density=nnz_per_row / n, random_state=seed, format="csr")
    a = (a + a.T).tocsr()
    return {"indices": a.indices, "indptr": a.indptr, "format": np.array(b"csr"), "shape": np.array(a.shape),
            "data": a.data}


def lying_indptr_npz(claimed: int = 4_000_000_000, n: int = 20_000) -> bytes:
    """A csr .npz of shape (n, n) that stores 12 entries while its indptr declares ``claimed``."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.linspace(12, claimed, n).astype(np.int64)
    indptr[1] = 12
    return npz_of({"indices": np.arange(12, dtype=np.int32), "indptr": indptr, "format": np.array(b"csr"),
                   "shape": np.array([n, n]), "data": np.ones(12)})


def patch_sizes(data: bytes, member: str, new_size: int) -> bytes:
    """Rewrite one member's uncompressed size in its local header and its central directory entry."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    assert info.file_size < 0xFFFFFFFF and info.compress_size < 0xFFFFFFFF  # plain 32-bit size fields
    struct.pack_into("<L", out, info.header_offset + 22, new_size)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + nlen].decode() == member:
            struct.pack_into("<L", out, pos + 24, new_size)
            return bytes(out)
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{member} is not in the central directory")


def deflated_member(key: str, arr: np.ndarray) -> tuple[str, bytes, int, int, int]:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr))
    raw = buf.getvalue()
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return f"{key}.npy", comp.compress(raw) + comp.flush(), zlib.crc32(raw), len(raw), zipfile.ZIP_DEFLATED


def csr_zip(parts: dict[str, np.ndarray]) -> bytes:
    """scipy.sparse.save_npz-equivalent bytes with plain 32-bit zip headers (easy to patch)."""
    return make_zip([deflated_member(k, v) for k, v in parts.items()])


def stream_liar_npz() -> tuple[bytes, int]:
    """A csr .npz whose 'data' member declares its values consistently with its .npy header, while its deflate
    stream goes on for 1 GiB of zeros after them. Returns the bytes and the declared size of 'data.npy'."""
    parts = csr_parts(n=10, nnz_per_row=1)
    honest = npy_header(parts["data"].shape, "<f8") + parts["data"].astype("<f8").tobytes()
    stream, _, _ = deflate_parts([(honest, 1), (bytes(1 << 24), 64)])
    members = [deflated_member(k, v) for k, v in parts.items() if k != "data"]
    members.append(("data.npy", stream, zlib.crc32(honest), len(honest), zipfile.ZIP_DEFLATED))
    return make_zip(members), len(honest)


def zeros_h5ad(path, n_cells: int = 20_000, n_genes: int = 5_000, chunk: tuple[int, int] = (1000, 1000)) -> bytes:
    """An AnnData file of an all-zero dense float32 X, gzip-compressed chunk by chunk (one compressed chunk written
    at every offset), with anndata's own obs and var."""
    import anndata
    import pandas as pd

    ad = anndata.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]),
                         var=pd.DataFrame(index=[f"g{j}" for j in range(n_genes)]))
    ad.write_h5ad(path)
    zero_chunk = zlib.compress(bytes(chunk[0] * chunk[1] * 4), 9)
    with h5py.File(path, "a") as f:
        if "X" in f:
            del f["X"]
        x = f.create_dataset("X", shape=(n_cells, n_genes), dtype="<f4", chunks=chunk, compression="gzip")
        x.attrs["encoding-type"], x.attrs["encoding-version"] = "array", "0.2.0"
        for i in range(0, n_cells, chunk[0]):
            for j in range(0, n_genes, chunk[1]):
                x.id.write_direct_chunk((i, j), zero_chunk)
    return path.read_bytes()


def huge_nnz_h5ad(path, nnz: int = 5_000_000_000, shape: tuple[int, int] = (10_000, 2_000)) -> bytes:
    """An AnnData file whose sparse X (csr) declares ``nnz`` stored entries in chunked, never-written datasets."""
    import anndata
    import pandas as pd

    ad = anndata.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(shape[0])]),
                         var=pd.DataFrame(index=[f"g{j}" for j in range(shape[1])]))
    ad.write_h5ad(path)
    with h5py.File(path, "a") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"], g.attrs["encoding-version"] = "csr_matrix", "0.1.0"
        g.attrs["shape"] = np.array(shape)
        g.create_dataset("data", shape=(nnz,), dtype="<f4", chunks=(1 << 20,), compression="gzip")
        g.create_dataset("indices", shape=(nnz,), dtype="<i8", chunks=(1 << 20,), compression="gzip")
        g.create_dataset("indptr", data=np.zeros(shape[0] + 1, dtype=np.int64))
    return path.read_bytes()


def wide_header_gz(columns: int = 1_000_000_000) -> bytes:
    """A gzip'd signals CSV whose header line has ``columns`` columns (2 GB uncompressed), and one data row."""
    block = b"n," * (1 << 19)
    reps, rest = divmod(columns - 2, 1 << 19)
    stream, crc, size = deflate_parts([(b"id,", 1), (block, reps), (b"n," * rest + b"n\ns1,1\n", 1)])
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + stream + struct.pack("<2L", crc, size & 0xFFFFFFFF)


class ManyColumns:
    """A binary stream of a CSV whose header has ``columns`` columns, generated as it is read."""

    def __init__(self, columns: int = 1_000_000_000) -> None:
        self.left = columns
        self.started = False

    def readline(self, limit: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        out = b"" if self.started else b"id,"
        self.started = True
        k = min(self.left, max((limit - len(out)) // 2, 1))
        self.left -= k
        return out + b"n," * k


# ---------------------------------------------------------------------------------------------- measuring
def refused_in_child(fn, *args, pattern: str, **kwargs) -> dict:
    """Run ``fn`` in the upload sandbox; it must raise UploadError matching ``pattern``, fast and small."""
    task = uio.SANDBOX.submit(fn, *args, **kwargs)
    assert task.wait(60), "the sandbox did not answer within 60 s"
    assert task.state == "failed" and isinstance(task.error, UploadError), (task.state, task.message)
    assert re.search(pattern, str(task.error)), str(task.error)
    s = task.stats
    assert s["seconds"] < LIMIT_S, f"refused after {s['seconds']:.2f} s"
    assert s["peak_growth"] < LIMIT_GROWTH, f"peak memory grew by {s['peak_growth'] / 2**20:.0f} MiB"
    print(f"{getattr(fn, '__name__', fn)}: refused in {s['seconds'] * 1e3:.0f} ms, peak growth "
          f"{s['peak_growth'] / 2**20:.1f} MiB (exact peak: {s.get('peak_exact')}): {str(task.error)[:100]}")
    return s


@pytest.fixture(scope="module", autouse=True)
def _warm_sandbox():
    uio.SANDBOX.prewarm()
    yield


# ---------------------------------------------------------------------------------------------- the builders
def test_crc32_combine_matches_zlib():
    rng = np.random.default_rng(0)
    a, b = rng.bytes(1000), rng.bytes(777)
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    body, crc, size = repeated(b"ab,", 1001)
    assert crc == zlib.crc32(b"ab," * 1001) and size == 3003
    assert zlib.decompress(body + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), -15) == b"ab," * 1001


def test_zero_bomb_builder_makes_what_numpy_reads():
    small = zeros_npz((300, 70_000))  # 84 MB of zeros, built the same way as the 3.6 GB one
    with np.load(io.BytesIO(small)) as z:
        arr = z["arr_0"]
    assert arr.shape == (300, 70_000) and arr.dtype == np.float32 and not arr.any()


def test_gzip_header_builder_is_a_valid_gzip_stream():
    import gzip

    raw = gzip.decompress(wide_header_gz(columns=3 * (1 << 19) + 5))
    head = raw.split(b"\n")[0].split(b",")
    assert len(head) == 3 * (1 << 19) + 5 and head[0] == b"id"


# ---------------------------------------------------------------------------------------------- the six cases
def test_npz_of_zeros_declaring_30000_squared_is_refused_from_its_headers():
    bomb = zeros_npz((30_000, 30_000))
    assert len(bomb) < 4 * 2**20  # about 3.5 MB on disk, 3.6 GB inflated
    info = zipfile.ZipFile(io.BytesIO(bomb)).getinfo("arr_0.npy")
    assert info.file_size == 128 + 30_000 * 30_000 * 4
    refused_in_child(uio.parse_adjacency_npz, bomb, pattern=r"declares 3\.4 GiB uncompressed; the limit is 400 MiB")


def test_npz_dense_array_beyond_the_dense_cap_is_refused_before_inflating():
    bomb = zeros_npz((9_000, 9_000), "<f4")  # 324 MB inflated: under the inflation cap, over the dense cap
    refused_in_child(uio.parse_adjacency_npz, bomb, pattern=r"81,000,000 entries; dense arrays are limited to "
                                                             r"25,000,000 entries")


def test_h5ad_of_gzip_zeros_20000_by_5000_is_refused_from_metadata(tmp_path):
    data = zeros_h5ad(tmp_path / "zeros.h5ad")
    assert len(data) < 2 * 2**20  # about 1 MB
    import anndata

    backed = anndata.read_h5ad(tmp_path / "zeros.h5ad", backed="r")  # a genuine AnnData file (X not read)
    assert backed.shape == (20_000, 5_000)
    backed.file.close()
    refused_in_child(uio.parse_h5ad, data, pattern=r"'X' is a dense 20,000 x 5,000 matrix = 100,000,000 entries; "
                                                   r"the limit is 25,000,000")


def test_csr_npz_whose_indptr_declares_more_entries_than_stored_is_refused():
    refused_in_child(uio.parse_adjacency_npz, lying_indptr_npz(),
                     pattern=r"indptr declares 4,000,000,000 entries .* but the file stores 12")


def test_zip_member_whose_declared_size_disagrees_with_its_header_is_refused():
    good = csr_zip(csr_parts(50))
    assert uio.parse_adjacency_npz(good).adjacency.shape == (50, 50)
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("data.npy")
    lie = patch_sizes(good, "data.npy", info.file_size - 64)
    refused_in_child(uio.parse_adjacency_npz, lie, pattern=r"'data\.npy' declares .* but its \.npy header .* implies")
    bigger = patch_sizes(good, "data.npy", 3_000_000_000)
    refused_in_child(uio.parse_adjacency_npz, bigger, pattern=r"declares 2\.8 GiB uncompressed; the limit is 400 MiB")


def test_zip_member_whose_stream_inflates_beyond_its_declared_size_is_refused():
    liar, declared = stream_liar_npz()
    assert len(liar) < 2 * 2**20  # 1 GiB of zeros behind a few honest values
    with zipfile.ZipFile(io.BytesIO(liar)) as z, z.open("data.npy") as fh:
        assert len(fh.read()) == declared  # zipfile stops at the declared size and never notices
    refused_in_child(uio.parse_adjacency_npz, liar,
                     pattern=rf"'data\.npy' inflates beyond its declared {declared} bytes")


def test_h5ad_whose_sparse_x_declares_a_huge_nnz_is_refused(tmp_path):
    data = huge_nnz_h5ad(tmp_path / "nnz.h5ad")
    assert len(data) < 2**20
    refused_in_child(uio.parse_h5ad, data, pattern=r"declares 5,000,000,000 stored entries, more than its 10,000 x "
                                                   r"2,000 shape can hold")
    data = huge_nnz_h5ad(tmp_path / "nnz2.h5ad", nnz=30_000_000, shape=(10_000, 10_000))
    refused_in_child(uio.parse_h5ad, data, pattern=r"declares 30,000,000 stored entries; the limit is 25,000,000")


def test_csv_with_a_billion_column_header_is_refused_after_a_bounded_prefix():
    gz = wide_header_gz()
    assert len(gz) < 8 * 2**20  # 2 GB of header behind a few MB
    refused_in_child(uio.parse_signals_csv, gz, ["n"], pattern=r"line 1 is longer than 4 MiB \(the line limit\)")
    commas = b"id," + b"n," * (25 * 2**20) + b"\ns1,1\n"  # a 50 MB header line, within the upload cap
    refused_in_child(uio.parse_signals_csv, commas, ["n"], pattern=r"line 1 is longer than 4 MiB")
    refused_in_child(uio.parse_edge_list, commas, pattern=r"line 1 is longer than 4 MiB")
    wide = b"id," + b",".join(b"n%d" % i for i in range(30_000)) + b"\ns1," + b"1," * 29_999 + b"1\n"
    refused_in_child(uio.parse_signals_csv, wide, ["n0"], pattern=r"line 1 has 30,001 columns; the limit is 20,002")


def test_a_generated_billion_column_stream_is_refused_in_process_with_little_memory():
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(UploadError, match=r"line 1 is longer than 4 MiB"):
        uio.parse_signals_csv(ManyColumns(), ["n"])
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < LIMIT_S and peak < 64 * 2**20, (seconds, peak)


# ---------------------------------------------------------------------------------------------- within the caps
def test_a_legit_file_within_the_caps_still_parses_in_the_sandbox():
    a = sp.random(300, 300, density=0.02, random_state=3)
    a = (a + a.T + sp.diags(np.ones(299), 1) + sp.diags(np.ones(299), -1)).tocsr()
    g = uio.SANDBOX.run(uio.parse_adjacency_npz, csr_npz(a))
    here = uio.parse_adjacency_npz(csr_npz(a))
    assert g.adjacency.shape == (300, 300) and abs(g.adjacency - here.adjacency).max() == 0 and g.digest == here.digest


def test_the_budget_refuses_from_sizes_alone_and_names_itself():
    with pytest.raises(UploadError, match=r"take about [\d,]+ s of one core, over the budget of 3 GiB of arrays and "
                                          r"300 s of one core; the largest part is diffusion \(2\^K sparse steps\)"):
        uio.check_work(3_000, 90_000, 2_000, max_scale=12)
    with pytest.raises(UploadError, match=r"hold about [\d.]+ GiB of arrays, over the budget .* embeddings"):
        uio.check_work(5_000, 150_000, 5_000, max_scale=3)
    est = uio.check_work(700, 10_000, 765, max_scale=12)  # PBMC-sized
    assert est.seconds < uio.BUDGET.seconds and est.memory_bytes < uio.BUDGET.memory_bytes


# ---------------------------------------------------------------------------------------------- hostile fuzzing
_fuzz = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=3), st.sampled_from(["<f4", "<f8", "<i8", "|u1", "<c16"]),
       st.integers(0, 4096))
def test_fuzz_npz_headers_declaring_any_shape_are_refused_or_read_within_their_size(shape, descr, payload):
    """A member whose .npy header declares any shape, over a payload of any length: refused unless sizes match."""
    head = npy_header(tuple(shape), descr)
    raw = head + bytes(payload)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = make_zip([("arr_0.npy", comp.compress(raw) + comp.flush(), zlib.crc32(raw), len(raw), 8)])
    t0 = time.perf_counter()
    try:
        uio.parse_adjacency_npz(data)
    except UploadError:
        pass
    assert time.perf_counter() - t0 < LIMIT_S


@_fuzz
@given(st.sampled_from(["indices.npy", "indptr.npy", "data.npy", "shape.npy", "format.npy"]),
       st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 127, 128, 10**9, 2**32 - 1])),
       st.sampled_from(["local", "both"]))
def test_fuzz_patched_zip_sizes_only_raise_upload_error(member, size, where):
    good = csr_zip(csr_parts(40, seed=2))
    data = bytearray(patch_sizes(good, member, size))
    if where == "local":  # undo the central directory patch: the two headers now disagree
        info = zipfile.ZipFile(io.BytesIO(good)).getinfo(member)
        data = bytearray(good)
        struct.pack_into("<L", data, info.header_offset + 22, size)
    try:
        g = uio.parse_adjacency_npz(bytes(data))
    except UploadError:
        return
    assert g.adjacency.shape == (40, 40)  # only an unchanged size may parse


@_fuzz
@given(st.integers(0, 12), st.integers(1, 2**40), st.integers(1, 30_000), st.integers(1, 30_000),
       st.booleans())
def test_fuzz_h5ad_sparse_x_declaring_any_nnz_and_shape_only_raises_upload_error(log_rows, nnz, rows, cols, legacy):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        g = f.create_group("X")
        if legacy:
            g.attrs["h5sparse_format"], g.attrs["h5sparse_shape"] = "csr", np.array([rows, cols])
        else:
            g.attrs["encoding-type"], g.attrs["shape"] = "csr_matrix", np.array([rows, cols])
        g.create_dataset("data", shape=(nnz,), dtype="<f4", chunks=(min(nnz, 1 << 16),), compression="gzip")
        g.create_dataset("indices", shape=(nnz,), dtype="<i4", chunks=(min(nnz, 1 << 16),), compression="gzip")
        g.create_dataset("indptr", shape=(rows + 1,), dtype="<i8", chunks=(min(rows + 1, 1 << 16),),
                         compression="gzip")
        obs = f.create_group("obs")
        obs.attrs["_index"] = "_index"
        obs.create_dataset("_index", data=np.array([f"c{i}" for i in range(min(rows, 2**log_rows))], dtype="S"))
    t0 = time.perf_counter()
    with pytest.raises(UploadError):
        uio.parse_h5ad(buf.getvalue())
    assert time.perf_counter() - t0 < LIMIT_S


@_fuzz
@given(st.integers(1, 3 * 2**20), st.sampled_from([b",", b"a,", b'"a,b",', b"\t"]), st.booleans())
def test_fuzz_long_or_wide_csv_lines_only_raise_upload_error_quickly(width, cell, gz):
    import gzip

    data = b"src,dst," + cell * (width // len(cell)) + b"\na,b\n"
    if gz:
        data = gzip.compress(data, 1)
    t0 = time.perf_counter()
    for fn, args in ((uio.parse_edge_list, ()), (uio.parse_signals_csv, (["a", "b"],))):
        try:
            fn(data, *args)
        except UploadError:
            pass
    assert time.perf_counter() - t0 < 2 * LIMIT_S
