"""Sorted lists of (key, row) entries kept in chunk documents: a page costs 2-3 `_id` reads.

FerretDB v1 on SQLite pushes only `{"_id": <str>}` down to SQL; any other filter, sort or
skip decodes the whole collection in Go. A list is therefore a two-level B+-tree of
documents, each read and written by `_id` alone:

- head `_id = name` in `lists`: `{total, chunks: <count>, seq, gen, index}`, `index` packing
  `{c: [chunk numbers], lo: [lowest keys], n: [entry counts]}` in key order;
- chunk `_id = f"{name}#{c}"` in one of the `lists_chunks_NN` collections (by a hash of the
  `_id`): `{n, gen, data}`, `data` packing `{k: [keys], r: [rows]}` sorted by key.

Why packed (zlib'd BSON in one binary field, each row its own BSON inside): FerretDB converts
every field of a document it stores or returns, which dominates (a 512-row chunk as plain
documents reads ~5x and writes ~3x slower), and it refuses arrays nested in arrays. Why
several chunk collections: FerretDB's `_id` "pushdown" (`WHERE <json>->'$._id' = ?`) is not
the expression of its own `_id` index (`<json>->"_id"`), so SQLite scans the table: a read
parses every row stored before the match, an update or delete every row of the table. An
`_id` lookup thus costs time in proportion to the bytes of its collection (~1 ms per MB,
measured). Small, compressed, spread-out chunks keep those scans short; heads live apart so
that the hottest reads scan almost nothing.

Chunk i owns the keys in [lo_i, lo_{i+1}); the first chunk's lo is "". Rows outside that
range are leftovers of an interrupted split, ignored by readers and dropped by writers.
Writers of one list serialise with `atomic.mutex("list:<name>")`; readers take no lock.
There are no transactions, so writes are ordered such that a crash between any two leaves
every entry readable exactly once: a changed chunk is written in full first (the commit
point of its changes), then the new chunks of a split, then the head that lists them, then
the split chunk is trimmed. `gen` grows with every change of the chunk layout; a reader
holding an older head that meets a chunk written under a newer one reads the head again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from typing import TypeVar

import bson
from bson import Binary
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from server.atomic import Atomic

COLLECTION = "lists"  # heads
CHUNK_COLLECTIONS = 32  # chunks spread over lists_chunks_00 .. _31 (see module doc)
CHUNK_SIZE = 512  # split above this many entries
BULK_FILL = 0.75  # bulk_load leaves room so the next inserts do not split at once
READ_RETRIES = 4  # fresh heads a reader tries before returning a best-effort result

Entry = tuple[str, dict]
_Raw = tuple[str, bytes]  # an entry as stored: rows stay encoded until a reader returns them
T = TypeVar("T")


class _Stale(Exception):
    """A chunk was written under a newer head than the reader holds."""


@dataclass
class _Head:
    """The parsed head document (or the empty list's, when there is none)."""

    chunks: list[dict]
    seq: int
    gen: int
    exists: bool

    @classmethod
    def of(cls, doc: dict | None) -> _Head:
        """Parse a head document; a missing one is an empty list."""
        if doc is None:
            # A time-based gen: a reader still holding the head of a dropped, recreated list
            # sees the new chunks as newer and rereads.
            return cls([{"c": 0, "lo": "", "n": 0}], 1, _now_gen(), False)
        table = _unpack(doc["index"])
        chunks = [{"c": c, "lo": lo, "n": n} for c, lo, n in zip(table["c"], table["lo"], table["n"], strict=True)]
        return cls(chunks, int(doc["seq"]), int(doc["gen"]), True)

    @property
    def total(self) -> int:
        """Entries in the list according to the head."""
        return sum(ch["n"] for ch in self.chunks)

    def hi(self, i: int) -> str | None:
        """The exclusive upper bound of chunk i (None: unbounded)."""
        return self.chunks[i + 1]["lo"] if i + 1 < len(self.chunks) else None

    @cached_property
    def los(self) -> list[str]:
        """The chunks' lower bounds (a head is not changed once read)."""
        return [ch["lo"] for ch in self.chunks]

    @cached_property
    def before(self) -> list[int]:
        """before[i]: entries in the chunks ahead of chunk i (len(chunks) + 1 items)."""
        return [0, *accumulate(ch["n"] for ch in self.chunks)]

    def find(self, key: str) -> int:
        """The index of the chunk owning `key`."""
        return max(0, bisect_right(self.los, key) - 1)

    def doc(self) -> dict:
        """The head document to store (the chunk table packed, like the chunks' rows)."""
        table = {f: [ch[f] for ch in self.chunks] for f in ("c", "lo", "n")}
        return {
            "total": self.total,
            "chunks": len(self.chunks),
            "seq": self.seq,
            "gen": self.gen,
            "index": _pack(table),
        }


def _now_gen() -> int:
    """Milliseconds since the epoch: the first gen of a (re)created list."""
    return int(time.time() * 1000)


def _pack(value: dict) -> Binary:
    """A document of plain values (str, int, bytes) as one compressed binary (see module doc)."""
    return Binary(zlib.compress(bson.encode(value), 1))  # level 1: ~0.3 ms per chunk, most of the gain


def _unpack(data: bytes) -> dict:
    return bson.decode(zlib.decompress(data))


def _chunk_doc(rows: list[_Raw], gen: int) -> dict:
    """A chunk document (without its `_id`); each row is kept as its own BSON so that readers
    decode only the rows they return and writers only the rows they change."""
    return {"n": len(rows), "gen": gen, "data": _pack({"k": [k for k, _ in rows], "r": [r for _, r in rows]})}


def _rows_of(doc: dict | None) -> list[_Raw]:
    """The entries a chunk document stores, leftovers included."""
    if doc is None:
        return []
    packed = _unpack(doc["data"])
    return list(zip(packed["k"], packed["r"], strict=True))


def _in_range(rows: list[_Raw], lo: str, hi: str | None) -> list[_Raw]:
    """The entries a chunk owns."""
    return [e for e in rows if lo <= e[0] and (hi is None or e[0] < hi)]


def _split(rows: list[_Raw], size: int) -> list[list[_Raw]]:
    """Cut an oversized chunk into pieces of about half the size (room to grow before the next split)."""
    pieces = max(2, len(rows) * 2 // size)
    step = -(-len(rows) // pieces)
    return [rows[i : i + step] for i in range(0, len(rows), step)]


def _chunk_id(name: str, c: int) -> str:
    return f"{name}#{c}"


class _Store:
    """Where one list's documents live; every query names one document by `_id`."""

    def __init__(self, db: AsyncDatabase, name: str):
        self.db, self.name = db, name
        self.heads: AsyncCollection = db[COLLECTION]
        self.opts = self.heads.codec_options  # rows round-trip like documents of this client (tz_aware, ...)

    def encode(self, row: dict) -> bytes:
        return bson.encode(row, codec_options=self.opts)

    def decode(self, raws: Iterable[_Raw]) -> list[Entry]:
        return [(k, bson.decode(r, codec_options=self.opts)) for k, r in raws]

    def _chunks(self, c: int) -> tuple[AsyncCollection, dict]:
        cid = _chunk_id(self.name, c)
        return self.db[f"{COLLECTION}_chunks_{zlib.crc32(cid.encode()) % CHUNK_COLLECTIONS:02d}"], {"_id": cid}

    async def head(self) -> _Head:
        return _Head.of(await self.heads.find_one({"_id": self.name}))

    async def put_head(self, head: _Head) -> None:
        await self.heads.replace_one({"_id": self.name}, head.doc(), upsert=True)

    async def delete_head(self) -> None:
        await self.heads.delete_one({"_id": self.name})

    async def read(self, cs: list[int]) -> list[dict | None]:
        """Chunk documents, read concurrently."""
        return await asyncio.gather(*(coll.find_one(key) for coll, key in map(self._chunks, cs)))

    async def write(self, chunks: list[tuple[int, list[_Raw]]], gen: int) -> None:
        """Replace chunk documents (concurrently: each is its own commit point)."""
        calls = []
        for c, rows in chunks:
            coll, key = self._chunks(c)
            calls.append(coll.replace_one(key, _chunk_doc(rows, gen), upsert=True))
        await asyncio.gather(*calls)

    async def insert(self, chunks: list[tuple[int, list[_Raw]]], gen: int) -> None:
        """Write fresh chunk documents with one insert_many per collection."""
        groups: dict[str, list[dict]] = {}
        for c, rows in chunks:
            coll, key = self._chunks(c)
            groups.setdefault(coll.name, []).append({**key, **_chunk_doc(rows, gen)})
        await asyncio.gather(*(_insert_or_replace(self.db[n], docs) for n, docs in groups.items()))

    async def delete(self, cs: Iterable[int]) -> None:
        await asyncio.gather(*(coll.delete_one(key) for coll, key in map(self._chunks, cs)))


def _check(name: str, chunk_size: int) -> None:
    """Refuse names that could collide with chunk `_id`s, and useless chunk sizes."""
    if not name or "#" in name:  # "#" separates a chunk number from the list name in `_id`s
        raise ValueError("a list name must be non-empty and contain no '#'")
    if chunk_size < 2:
        raise ValueError("chunk_size must be at least 2")


class SortedList:
    """One named sorted list (see module doc); all methods are coroutines."""

    def __init__(self, db: AsyncDatabase, atomic: Atomic, name: str, chunk_size: int = CHUNK_SIZE):
        _check(name, chunk_size)
        self.store = _Store(db, name)
        self.atomic = atomic
        self.name = name
        self.chunk_size = chunk_size

    # -- reading (no lock) --------------------------------------------------------------

    async def count(self) -> int:
        """How many entries the list holds."""
        return (await self._head()).total

    async def get(self, key: str) -> dict | None:
        """The row stored under `key`, or None."""

        async def body(head: _Head, strict: bool) -> dict | None:
            if not head.exists:
                return None
            rows = (await self._read_chunks(head, [head.find(key)], strict))[0]
            i = bisect_left(rows, key, key=lambda e: e[0])
            return self.store.decode([rows[i]])[0][1] if i < len(rows) and rows[i][0] == key else None

        return await self._read(body)

    async def page(self, offset: int, limit: int, reverse: bool = False) -> list[Entry]:
        """`limit` entries after skipping `offset`, ascending by key (descending if `reverse`)."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")

        async def body(head: _Head, strict: bool) -> list[_Raw]:
            if not head.exists or limit == 0:
                return []
            order = list(range(len(head.chunks)))[:: -1 if reverse else 1]
            pos, skip = 0, offset
            while pos < len(order) and skip >= head.chunks[order[pos]]["n"]:  # whole chunks, by the head's counts
                skip -= head.chunks[order[pos]]["n"]
                pos += 1
            out: list[_Raw] = []
            while pos < len(order) and len(out) < limit:
                batch: list[int] = []
                covered = 0
                while pos < len(order) and (not batch or covered < skip + limit - len(out)):
                    batch.append(order[pos])
                    covered += head.chunks[order[pos]]["n"]
                    pos += 1
                for rows in await self._read_chunks(head, batch, strict):  # one concurrent round trip
                    rows = rows[::-1] if reverse else rows
                    out.extend(rows[skip:])
                    skip = max(0, skip - len(rows))
            return out[:limit]

        return self.store.decode(await self._read(body))

    async def range(self, lo: str, hi: str | None, limit: int) -> list[Entry]:
        """Up to `limit` entries with lo <= key < hi, ascending (prefix p: lo=p, hi=p + "\\uffff")."""

        async def body(head: _Head, strict: bool) -> list[_Raw]:
            if not head.exists or limit <= 0 or (hi is not None and lo >= hi):
                return []
            pos, first = head.find(lo), True
            out: list[_Raw] = []
            while pos < len(head.chunks) and (hi is None or head.chunks[pos]["lo"] < hi) and len(out) < limit:
                batch: list[int] = []
                covered = 0
                # Where `lo` falls in the first chunk is unknown: read it alone, then batch by counts.
                while (
                    pos < len(head.chunks)
                    and (hi is None or head.chunks[pos]["lo"] < hi)
                    and (not batch or (not first and covered < limit - len(out)))
                ):
                    batch.append(pos)
                    covered += head.chunks[pos]["n"]
                    pos += 1
                first = False
                for rows in await self._read_chunks(head, batch, strict):
                    out.extend(e for e in rows if lo <= e[0] and (hi is None or e[0] < hi))
            return out[:limit]

        return self.store.decode(await self._read(body))

    async def _head(self) -> _Head:
        return await self.store.head()

    async def _read(self, body: Callable[[_Head, bool], Awaitable[T]]) -> T:
        """Run a read against a fresh head, again if a chunk proves the head stale."""
        for attempt in range(READ_RETRIES):
            try:
                return await body(await self._head(), attempt < READ_RETRIES - 1)
            except _Stale:
                continue
        raise AssertionError("unreachable: the last attempt is not strict")

    async def _read_chunks(self, head: _Head, idxs: list[int], strict: bool) -> list[list[_Raw]]:
        """The owned rows of chunks `idxs` (read concurrently); _Stale if the head is outdated."""
        docs = await self.store.read([head.chunks[i]["c"] for i in idxs])
        if strict and any(d is None or int(d.get("gen", 0)) > head.gen for d in docs):
            raise _Stale  # dropped or re-laid out since this head was read
        return [_in_range(_rows_of(d), head.chunks[i]["lo"], head.hi(i)) for i, d in zip(idxs, docs, strict=True)]

    # -- writing (under the list's mutex) -------------------------------------------------

    async def put(self, key: str, row: dict) -> None:
        """Insert or replace the entry `key`."""
        await self.apply([(key, row)], [])

    async def remove(self, key: str) -> None:
        """Remove the entry `key` (nothing if absent)."""
        await self.apply([], [key])

    async def apply(self, puts: Iterable[Entry], removes: Iterable[str]) -> None:
        """Several puts, then several removes, under one lock (a key in both ends up removed)."""
        puts, removes = list(puts), list(removes)
        if any(not isinstance(k, str) or not isinstance(r, dict) for k, r in puts) or any(
            not isinstance(k, str) for k in removes
        ):
            raise ValueError("keys must be str and rows dict")
        if not puts and not removes:
            return
        ops: list[tuple[str, bytes | None]] = [
            *((k, self.store.encode(r)) for k, r in puts),
            *((k, None) for k in removes),
        ]  # None: remove
        async with self.atomic.mutex(f"list:{self.name}"):
            head = await self._head()
            changes: dict[int, list[tuple[str, bytes | None]]] = {}
            for k, r in ops:
                changes.setdefault(head.find(k), []).append((k, r))
            # A list without a head owns no chunk yet: a chunk 0 left by a dropped list is garbage.
            loaded = await self._raw_chunks(head, sorted(changes)) if head.exists else {0: []}
            before = {i: _in_range(rows, head.chunks[i]["lo"], head.hi(i)) for i, rows in loaded.items()}
            after = {}
            for i, chunk_ops in changes.items():
                rows = dict(before[i])
                for k, r in chunk_ops:
                    if r is None:
                        rows.pop(k, None)
                    else:
                        rows[k] = r
                after[i] = sorted(rows.items(), key=lambda e: e[0])
            await self._commit(head, before, after, dirty=set())

    async def check_and_repair(self) -> int:
        """Recompute the head from the chunks, trim leftovers, split oversized chunks; documents rewritten."""
        async with self.atomic.mutex(f"list:{self.name}"):
            head = await self._head()
            if not head.exists:
                return 0
            raw = await self._raw_chunks(head, list(range(len(head.chunks))))
            owned = {i: _in_range(rows, head.chunks[i]["lo"], head.hi(i)) for i, rows in raw.items()}
            dirty = {i for i, rows in raw.items() if len(rows) != len(owned[i])}
            stale_n = any(len(owned[i]) != ch["n"] for i, ch in enumerate(head.chunks))
            return await self._commit(head, owned, owned, dirty, force_head=stale_n)

    async def _raw_chunks(self, head: _Head, idxs: list[int]) -> dict[int, list]:
        """The stored rows of chunks `idxs`, leftovers included (a writer holds the lock: no gen check)."""
        docs = await self.store.read([head.chunks[i]["c"] for i in idxs])
        return {i: _rows_of(d) for i, d in zip(idxs, docs, strict=True)}

    async def _commit(
        self,
        head: _Head,
        before: dict[int, list[_Raw]],
        after: dict[int, list[_Raw]],
        dirty: set[int],
        force_head: bool = False,
    ) -> int:
        """Write changed chunks, split/drop as needed, then the head; returns documents written."""
        old_gen, seq = head.gen, head.seq
        chunks: list[dict] = []
        first: list[tuple[int, list[_Raw]]] = []  # commit points, before the head
        pieces: list[tuple[int, list[_Raw]]] = []  # new chunks of splits, before the head
        trims: list[tuple[int, list[_Raw]]] = []  # split chunks cut down, after the head
        dropped: list[int] = []
        for i, ch in enumerate(head.chunks):
            if i not in after:
                chunks.append(ch)
                continue
            rows = after[i]
            if rows != before[i] or i in dirty:
                first.append((ch["c"], rows))
            if len(rows) > self.chunk_size:
                parts = _split(rows, self.chunk_size)
                chunks.append({"c": ch["c"], "lo": ch["lo"], "n": len(parts[0])})
                trims.append((ch["c"], parts[0]))
                for part in parts[1:]:
                    chunks.append({"c": seq, "lo": part[0][0], "n": len(part)})
                    pieces.append((seq, part))
                    seq += 1
            elif not rows and i + 1 < len(head.chunks):
                # An empty chunk goes; its successor takes over its range downwards, which is safe
                # because no chunk ever stores rows below its own lo. (The last chunk stays even when
                # empty: handing its range up to the previous chunk could revive that chunk's leftovers.)
                dropped.append(ch["c"])
            else:
                chunks.append({**ch, "n": len(rows)})
        chunks = _extend_down(head.chunks, chunks, dropped)
        layout_changed = bool(pieces or dropped)
        new = _Head(chunks, seq, old_gen + 1 if layout_changed else old_gen, True)
        head_changed = (
            force_head
            or layout_changed
            or (not head.exists and bool(first))
            or [ch["n"] for ch in chunks] != [ch["n"] for ch in head.chunks]
        )
        await self.store.write(first, old_gen)
        await self.store.write(pieces, new.gen)
        if head_changed:
            await self.store.put_head(new)
        await self.store.write(trims, new.gen)
        await self.store.delete(dropped)
        return len(first) + len(pieces) + len(trims) + int(head_changed)


def _extend_down(old: list[dict], new: list[dict], dropped: list[int]) -> list[dict]:
    """Give each dropped chunk's range to the next surviving chunk (lowering that chunk's lo)."""
    if not dropped:
        return new
    gone = set(dropped)
    lowest: dict[int, str] = {}  # surviving chunk number -> lo it inherits
    pending: str | None = None
    for ch in old:
        if ch["c"] in gone:
            pending = ch["lo"] if pending is None else pending
        elif pending is not None:
            lowest[ch["c"]] = pending
            pending = None
    return [{**ch, "lo": lowest[ch["c"]]} if ch["c"] in lowest else ch for ch in new]


# -- several lists ------------------------------------------------------------------------


async def counts(lists: list[SortedList]) -> list[int]:
    """The entry counts of several lists (heads read concurrently)."""
    heads = await asyncio.gather(*(lst._head() for lst in lists))
    return [h.total for h in heads]


class _Cursor:
    """Walks one list's chunks in one direction from a start chunk, reading each lazily."""

    def __init__(self, lst: SortedList, head: _Head, start: int, reverse: bool, bound: str | None, strict: bool):
        self.lst, self.head, self.pos, self.reverse, self.strict = lst, head, start, reverse, strict
        self.bound = bound  # forward: drop keys < bound; reverse: drop keys >= bound (the skipped region)
        self.buf: deque[_Raw] = deque()
        self.dropped = 0

    def more(self) -> bool:
        return 0 <= self.pos < len(self.head.chunks) and self.head.exists

    async def fill(self) -> None:
        """Read chunks until an entry is buffered or the list is exhausted."""
        while not self.buf and self.more():
            rows = (await self.lst._read_chunks(self.head, [self.pos], self.strict))[0]
            self.pos += -1 if self.reverse else 1
            if self.reverse:
                rows = rows[::-1]
            if self.bound is not None:
                kept = [e for e in rows if (e[0] < self.bound if self.reverse else e[0] >= self.bound)]
                self.dropped += len(rows) - len(kept)
                rows = kept
            self.buf.extend(rows)


async def merged_page(lists: list[SortedList], offset: int, limit: int, reverse: bool = False) -> list[Entry]:
    """A page of the k-way merge of several lists by key (ties: earlier list first when ascending)."""
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
    for attempt in range(READ_RETRIES):
        heads = await asyncio.gather(*(lst._head() for lst in lists))
        try:
            return await _merged(lists, heads, offset, limit, reverse, attempt < READ_RETRIES - 1)
        except _Stale:
            continue
    raise AssertionError("unreachable: the last attempt is not strict")


def _skip_key(heads: list[_Head], offset: int, reverse: bool) -> str | None:
    """The key bounding the region that can be skipped from the heads' counts alone.

    Ascending: the largest chunk lo K such that the chunks that may hold keys < K hold at most
    `offset` entries; descending: the smallest K such that those that may hold keys >= K do.
    That bound is monotonic in K, so the candidates are searched by bisection.
    """
    live = [h for h in heads if h.exists]
    candidates = sorted({lo for h in live for lo in h.los})

    def bound(k: str) -> int:
        total = 0
        for h in live:
            i = h.find(k)
            if reverse:
                total += h.before[-1] - h.before[i]
            else:
                total += h.before[i + 1] if h.los[i] < k else h.before[i]
        return total

    if reverse:  # bound falls as K rises: the first candidate whose bound fits
        fits = bisect_left(candidates, True, key=lambda k: bound(k) <= offset)
        return candidates[fits] if fits < len(candidates) else None
    fits = bisect_left(candidates, True, key=lambda k: bound(k) > offset)  # bound rises with K
    return candidates[fits - 1] if fits else None


async def _merged(
    lists: list[SortedList], heads: list[_Head], offset: int, limit: int, reverse: bool, strict: bool
) -> list[Entry]:
    """merged_page against given heads: skip by counts, then merge from the chunks around the skip key."""
    if limit == 0:
        return []
    bound = _skip_key(heads, offset, reverse)
    cursors, skipped = [], 0
    for lst, h in zip(lists, heads, strict=True):
        if bound is None:
            start = len(h.chunks) - 1 if reverse else 0
        else:
            start = h.find(bound)
            skipped += (
                sum(ch["n"] for ch in (h.chunks[start + 1 :] if reverse else h.chunks[:start])) if h.exists else 0
            )
        cursors.append(_Cursor(lst, h, start, reverse, bound, strict))
    await asyncio.gather(*(c.fill() for c in cursors))
    remaining = max(0, offset - skipped - sum(c.dropped for c in cursors))
    out: list[Entry] = []
    while len(out) < limit:
        if empty := [c for c in cursors if not c.buf and c.more()]:
            await asyncio.gather(*(c.fill() for c in empty))
        live = [i for i, c in enumerate(cursors) if c.buf]
        if not live:
            break
        pick = (max if reverse else min)(live, key=lambda i: (cursors[i].buf[0][0], i))
        raw = cursors[pick].buf.popleft()
        if remaining:
            remaining -= 1
        else:
            out.extend(cursors[pick].lst.store.decode([raw]))
    return out


# -- whole lists --------------------------------------------------------------------------


async def bulk_load(
    db: AsyncDatabase,
    name: str,
    entries: Iterable[Entry],
    *,
    chunk_size: int = CHUNK_SIZE,
    atomic: Atomic | None = None,
) -> int:
    """(Re)write a whole list from entries (a repeated key keeps its last row); returns the count.

    Pass `atomic` when writers may be active: the rebuild then holds the list's mutex.
    """
    _check(name, chunk_size)
    store = _Store(db, name)
    rows = sorted(((k, store.encode(r)) for k, r in dict(entries).items()), key=lambda e: e[0])
    lock: AbstractAsyncContextManager = atomic.mutex(f"list:{name}") if atomic else nullcontext()
    async with lock:
        old = await store.head()
        fill = max(1, int(chunk_size * BULK_FILL))
        parts = [rows[i : i + fill] for i in range(0, len(rows), fill)] or [[]]
        seq = old.seq if old.exists else 0  # fresh chunk numbers: the old chunks stay readable until the head moves
        gen = max(old.gen + 1, _now_gen())
        await store.insert([(seq + j, part) for j, part in enumerate(parts)], gen)
        chunks = [
            {"c": seq + j, "lo": part[0][0] if j and part else "", "n": len(part)} for j, part in enumerate(parts)
        ]
        await store.put_head(_Head(chunks, seq + len(parts), gen, True))
        if old.exists:
            await store.delete(ch["c"] for ch in old.chunks)
    return len(rows)


async def _insert_or_replace(coll: AsyncCollection, docs: list[dict]) -> None:
    """insert_many, replacing by `_id` the few documents a crashed writer may have left behind."""
    try:
        await coll.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        taken = [e["index"] for e in exc.details.get("writeErrors", []) if e.get("code") == 11000]
        if len(taken) != len(exc.details.get("writeErrors", [])):
            raise
        await asyncio.gather(*(coll.replace_one({"_id": docs[i]["_id"]}, docs[i], upsert=True) for i in taken))


async def start_build(atomic: Atomic, db: AsyncDatabase, docs: AsyncCollection, region: str, fields: dict) -> dict:
    """$set `fields` (a new generation: its state, gen, building_list...) on the district's document that
    tracks a list, creating it without a list if need be, and drop the list an interrupted build had left
    (a running one stops at its next progress report); the document."""
    before = await docs.find_one({"_id": region}, {"building_list": 1, "list": 1})
    doc = await atomic.update(
        docs,
        {"_id": region},
        {"$set": fields, "$setOnInsert": {"region_code": region, "list": None, "total": 0}},
        upsert=True,
    )
    stale = (before or {}).get("building_list")
    if stale and stale != (before or {}).get("list"):
        await drop(db, stale)
    assert doc is not None  # an upsert returns the document
    return doc


async def build_and_swap(
    db: AsyncDatabase,
    atomic: Atomic,
    docs: AsyncCollection,
    key: dict,
    name: str,
    build: Callable[[], Awaitable[int | None]],
    done: Callable[[int], dict],
    log: logging.Logger,
    what: str,
) -> int | None:
    """Build the list `name` for the document `key` ({_id, gen}) that tracks it, then swap it in.

    build() writes the list and answers its count, or None when the document moved on meanwhile.
    On an error the list is dropped, `what` logged as failed and the document marked state "failed"
    (with the error's type); once built, `done(count)` is $set on the document if it is still at
    `key`, and the list it names before is dropped. The count, or None when the list was abandoned."""
    try:
        total = await build()
    except Exception as exc:
        log.exception("%s failed", what)
        await drop(db, name)
        await atomic.update(
            docs, key, {"$set": {"state": "failed", "building_list": None, "error": type(exc).__name__}}
        )
        return None
    if total is None:
        await drop(db, name)
        return None
    before = await docs.find_one(key, {"list": 1})
    if await atomic.update(docs, key, {"$set": done(total)}) is None:
        await drop(db, name)
        return None
    old = (before or {}).get("list")
    if old and old != name:
        await drop(db, old)
    return total


async def drop(db: AsyncDatabase, name: str) -> None:
    """Delete a list: its head first (the list is then empty), then its chunks."""
    store = _Store(db, name)
    head = await store.head()
    if head.exists:
        await store.delete_head()
        await store.delete(ch["c"] for ch in head.chunks)
