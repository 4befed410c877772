"""LZF (liblzf's format, as PCL's ``binary_compressed`` uses it) in numpy and plain Python.

The stream is a sequence of tokens, each starting with a control byte ``c``:

* ``c < 32``: a literal run; the next ``c + 1`` bytes are copied to the output.
* otherwise a back reference: ``n = c >> 5`` (7 means "read one more byte and add it"),
  then one byte ``lo``; copy ``n + 2`` bytes from ``output[pos - ((c & 31) << 8 | lo) - 1]``.
  Source and destination may overlap (a run of a repeated pattern).

Neither direction needs a C extension. When the ``python-lzf`` package (module ``lzf``) is
installed it is used instead because it is about 50x faster; both produce streams liblzf reads.
"""

from __future__ import annotations

import numpy as np

try:  # optional accelerator; the pure implementation below is the reference
    import lzf as _clzf
except ImportError:  # pragma: no cover - depends on the environment
    _clzf = None

MAX_LITERAL = 32          # a literal run holds 1..32 bytes
MAX_OFFSET = 8192         # distance back of a reference: 1..8192
MIN_MATCH, MAX_MATCH = 3, 264


def decompress(data: bytes, size: int, *, accelerated: bool = True) -> bytes:
    """Decompress an LZF stream that must expand to exactly ``size`` bytes (ValueError if not)."""
    if accelerated and _clzf is not None and size > 0:
        out = _clzf.decompress(bytes(data), size)
        if out is None or len(out) != size:
            raise ValueError(f"LZF stream does not expand to the expected {size} bytes")
        return out
    return _decompress(bytes(data), size)


def _decompress(data: bytes, size: int) -> bytes:
    out = bytearray(size)
    ip, op, n = 0, 0, len(data)
    while ip < n:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            run = ctrl + 1
            if op + run > size or ip + run > n:
                raise ValueError("LZF literal run past the end of the stream or the output")
            out[op : op + run] = data[ip : ip + run]
            ip += run
            op += run
            continue
        length = ctrl >> 5
        if length == 7:
            if ip >= n:
                raise ValueError("LZF stream truncated in a reference")
            length += data[ip]
            ip += 1
        if ip >= n:
            raise ValueError("LZF stream truncated in a reference")
        ref = op - ((ctrl & 0x1F) << 8) - data[ip] - 1
        ip += 1
        length += 2
        if ref < 0 or op + length > size:
            raise ValueError("LZF reference outside the output")
        if ref + length <= op:
            out[op : op + length] = out[ref : ref + length]
        else:  # overlapping copy == the last (op - ref) bytes repeated
            period = out[ref:op]
            out[op : op + length] = (period * (length // len(period) + 1))[:length]
        op += length
    if op != size:
        raise ValueError(f"LZF stream expands to {op} bytes, expected {size}")
    return bytes(out)


def compress(data: bytes, *, accelerated: bool = True) -> bytes:
    """Compress ``data`` into a valid LZF stream (never fails; incompressible data grows ~3%)."""
    data = bytes(data)
    if accelerated and _clzf is not None and data:
        out = _clzf.compress(data, len(data) + len(data) // 16 + 64)
        if out is not None:
            return out
    return _compress(data)


def _literals(data: bytes, start: int, stop: int) -> bytes:
    """``data[start:stop]`` as literal runs of at most 32 bytes, each after its control byte."""
    return b"".join(bytes((min(MAX_LITERAL, stop - i) - 1,)) + data[i : min(i + MAX_LITERAL, stop)]
                    for i in range(start, stop, MAX_LITERAL))


def _matches(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position, the distance back to the previous occurrence of its 3-byte prefix
    (within the LZF window) and the match length there (0 where none). Both (n,) int64.

    Like liblzf's one-slot hash table only the most recent occurrence is a candidate; the
    lengths are extended for all candidates at once, one byte offset per numpy step.
    """
    n = len(a)
    length = np.zeros(n, np.int64)
    dist = np.zeros(n, np.int64)
    if n < MIN_MATCH:
        return dist, length
    b = a.astype(np.uint64)
    key = (b[:-2] << 16) | (b[1:-1] << 8) | b[2:]  # 24 bits
    # sorting (key, position) packed in one uint64 is a plain sort, much faster than a
    # stable argsort; equal keys come out in position order
    packed = np.sort((key << 40) | np.arange(n - 2, dtype=np.uint64))
    order = (packed & np.uint64((1 << 40) - 1)).astype(np.int64)
    same = (packed[1:] >> np.uint64(40)) == (packed[:-1] >> np.uint64(40))
    pos, prev = order[1:][same], order[:-1][same]
    near = pos - prev <= MAX_OFFSET
    pos, prev = pos[near], prev[near]
    limit = np.minimum(MAX_MATCH, n - pos)
    run = np.full(len(pos), MIN_MATCH, np.int64)    # the 3-byte keys already agree
    active = np.flatnonzero(run < limit)
    while active.size:
        k = run[active]
        equal = a[pos[active] + k] == a[prev[active] + k]
        run[active[equal]] += 1
        active = active[equal]
        active = active[run[active] < limit[active]]
    dist[pos] = pos - prev
    length[pos] = run
    return dist, length


def _compress(data: bytes) -> bytes:
    """Greedy LZF: take the candidate match wherever one starts, literals elsewhere."""
    a = np.frombuffer(data, np.uint8)
    dist, length = _matches(a)
    found = length >= MIN_MATCH
    # a match at j-1 with the same distance ending where the one at j ends covers it; dropping
    # those tails leaves the walk below with about one candidate per token
    found[1:] &= ~((dist[1:] == dist[:-1]) & (length[:-1] == length[1:] + 1))
    starts = np.flatnonzero(found)
    # the walk is sequential (a match decides where the next token starts), so it runs on
    # Python ints over the match positions only; literal stretches are emitted in one go
    runs, offsets = length[starts].tolist(), (dist[starts] - 1).tolist()
    starts = starts.tolist()
    parts: list[bytes] = []
    i, n = 0, len(a)
    for j, run, off in zip(starts, runs, offsets):
        if j < i:             # inside the previous match
            continue
        if j > i:
            parts.append(_literals(data, i, j))
        code = run - 2
        if code < 7:
            parts.append(bytes(((code << 5) | (off >> 8), off & 0xFF)))
        else:
            parts.append(bytes(((7 << 5) | (off >> 8), code - 7, off & 0xFF)))
        i = j + run
    if i < n:
        parts.append(_literals(data, i, n))
    return b"".join(parts)
