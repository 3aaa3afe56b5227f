//! Working memory for queries, and spilling to a temporary database when it runs out.
//!
//! Every operator that buffers rows (ORDER BY, GROUP BY, DISTINCT, UNION / INTERSECT /
//! EXCEPT) counts the approximate bytes it holds against the connection's work-memory budget
//! ([`WorkMem`], set with [`Connection::set_work_memory`](crate::sql::Connection::set_work_memory)). One mechanism handles going over
//! it: the external [`Sorter`].
//!
//! * Entries are `(key, row)` pairs where `key` is a byte string whose byte order is the
//!   wanted order (built with [`sort_key`] / [`group_key`], on top of the order-preserving
//!   key encoding of `encoding`), followed by an 8-byte big-endian sequence number, so equal
//!   keys keep their arrival order and every key is unique.
//! * While the buffered entries fit the budget they stay in memory and are sorted there.
//!   Past the budget the buffer is sorted and written as one *sorted run*: an engine table
//!   `run<N>` in a temporary database whose keys are the positions 0, 1, 2 ... (8 bytes
//!   big-endian, so sort keys of any length fit) and whose values are the sort key's length
//!   (varint), the sort key, and the row's record encoding (`encode_row`); appended in one
//!   commit without sync. The temporary database lives in a file under
//!   [`std::env::temp_dir`] (or the directory / device set on the connection; an in-memory
//!   device without `std`) and is deleted when the operator is dropped; on Unix its name is
//!   unlinked as soon as it is open (the descriptor keeps it), so even a killed process leaves
//!   nothing behind. Its page cache is small, so the memory used stays near the budget.
//! * Reading back is a k-way merge of the runs and the in-memory tail, on one read snapshot
//!   of the temporary database; each run is read in small batches, each seeking from the
//!   run's root. When there are more runs than the merge fan-in allows, groups of runs are
//!   first merged into longer runs.
//! * With a row limit (`ORDER BY ... LIMIT k`), only the first `k` entries are kept: the
//!   buffer is cut back to the best `k` whenever it reaches `2k` entries or the budget, and
//!   entries past the current `k`-th key are dropped on arrival (a bounded top-k). Runs are
//!   written only when the best `k` alone nearly fill the budget.

use alloc::collections::{BinaryHeap, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::cmp::Reverse;

use crate::error::{Error, Result};
use crate::sql::storage::{TempDb, TempDeviceFn, TempSnapshot, TempStorage};
use crate::sql::types::collation::Coll;
use crate::sql::types::encoding::{decode_row, encode_key, encode_row, get_varint, invert, put_varint};
use crate::sql::types::value::Value;

/// The default work-memory budget: 64 MiB.
pub const DEFAULT_WORK_MEMORY: usize = 64 << 20;
/// The smallest budget accepted (smaller settings are raised to it).
pub const MIN_WORK_MEMORY: usize = 16 << 10;

/// Counters of the spilling done by a connection's queries (cumulative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpillStats {
    /// Temporary databases created.
    pub temp_databases: u64,
    /// Sorted runs written (including runs written by intermediate merges).
    pub runs: u64,
    /// Rows written to runs.
    pub rows: u64,
    /// Bytes of keys and records written to runs.
    pub bytes: u64,
    /// The most bytes any one operator held in memory (approximate).
    pub peak_buffered: u64,
}

/// A connection's work-memory budget, temporary storage and spill counters.
#[derive(Default)]
pub struct WorkMem {
    /// 0: the default.
    budget: Cell<usize>,
    storage: RefCell<TempStorage>,
    stats: Cell<SpillStats>,
}

impl WorkMem {
    /// The budget in bytes.
    pub fn budget(&self) -> usize {
        match self.budget.get() {
            0 => DEFAULT_WORK_MEMORY,
            b => b,
        }
    }

    fn bump(&self, f: impl FnOnce(&mut SpillStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Set the budget (raised to [`MIN_WORK_MEMORY`]).
    pub fn set_budget(&self, bytes: usize) {
        self.budget.set(bytes.max(MIN_WORK_MEMORY));
    }

    /// Put temporary databases in files under `dir` (`None`: the system temp directory).
    #[cfg(feature = "std")]
    pub fn set_temp_dir(&self, dir: Option<std::path::PathBuf>) {
        *self.storage.borrow_mut() = match dir {
            Some(d) => TempStorage::Dir(d),
            None => TempStorage::Default,
        };
    }

    /// Put temporary databases on devices made by `make`.
    pub fn set_temp_device(&self, make: Arc<TempDeviceFn>) {
        *self.storage.borrow_mut() = TempStorage::Device(make);
    }

    /// The spill counters.
    pub fn stats(&self) -> SpillStats {
        self.stats.get()
    }

    /// Reset the spill counters to zero.
    pub fn reset_stats(&self) {
        self.stats.set(SpillStats::default());
    }

    /// Record that an operator holds `bytes`.
    pub fn note_buffered(&self, bytes: usize) {
        self.bump(|s| s.peak_buffered = s.peak_buffered.max(bytes as u64));
    }

    /// A new temporary database, with a page cache sized from the budget.
    fn temp_db(&self) -> Result<TempDb> {
        let cache_size = (self.budget() / 4).clamp(16 * 4096, 8 << 20);
        let t = TempDb::open(&self.storage.borrow(), cache_size)?;
        self.bump(|s| s.temp_databases += 1);
        Ok(t)
    }
}

/// Approximate heap bytes of a row held in memory.
pub fn row_bytes(row: &[Value]) -> usize {
    let mut n = core::mem::size_of::<Vec<Value>>() + core::mem::size_of_val(row);
    for v in row {
        match v {
            Value::Text(s) => n += s.len(),
            Value::Blob(b) => n += b.len(),
            _ => {}
        }
    }
    n
}

/// Append the sort-key bytes of one ORDER BY term: a marker byte placing NULLs first or
/// last, then (for non-NULLs) the key encoding of the value under the collation, inverted
/// for DESC. Byte order of the result is the order `cmp_keys` in `exec` gives.
pub fn sort_key(out: &mut Vec<u8>, v: &Value, desc: bool, nulls_first: bool, coll: Coll) {
    if v.is_null() {
        out.push(if nulls_first { 0 } else { 2 });
        return;
    }
    out.push(1);
    let start = out.len();
    match (coll, v) {
        (Coll::NoCase | Coll::Rtrim, Value::Text(_)) => encode_key(out, &coll.key(v)),
        _ => encode_key(out, v),
    }
    if desc {
        invert(&mut out[start..]);
    }
}

/// Append the key bytes of a group key or a whole row: byte-equal exactly when the values are
/// equal (NULL equals NULL, 1 equals 1.0), byte order the values' order.
pub fn group_key(out: &mut Vec<u8>, vals: &[Value]) {
    for v in vals {
        encode_key(out, v);
    }
}

/// The key without its trailing sequence number.
pub fn key_body(key: &[u8]) -> &[u8] {
    &key[..key.len().saturating_sub(8)]
}

type SortEntry = (Vec<u8>, Vec<Value>);

fn sort_entry_bytes(e: &SortEntry) -> usize {
    e.0.len() + core::mem::size_of::<Vec<u8>>() + row_bytes(&e.1)
}

/// A run's record: the sort key's length (varint), the key, then the row's record encoding.
/// Runs are keyed by position (8-byte big-endian), so sort keys of any length fit.
fn sorted_run_record(out: &mut Vec<u8>, key: &[u8], row: &[Value]) {
    out.clear();
    put_varint(out, key.len() as u64);
    out.extend_from_slice(key);
    encode_row(out, row);
}

/// Write the entries `next` yields (until `None`) as the sorted run `name`, in one commit that
/// also drops the runs `merged` into it; count it in the spill statistics.
fn write_sorted_run(
    work: &WorkMem,
    temp: &TempDb,
    name: String,
    merged: &[String],
    mut next: impl FnMut() -> Result<Option<SortEntry>>,
) -> Result<SortedRun> {
    let (mut rows, mut bytes) = (0u64, 0u64);
    temp.write_table(&name, merged, |put| {
        let mut rec = Vec::new();
        while let Some((k, row)) = next()? {
            sorted_run_record(&mut rec, &k, &row);
            put(&rows.to_be_bytes(), &rec)?;
            rows += 1;
            bytes += rec.len() as u64;
        }
        Ok(())
    })?;
    work.bump(|s| {
        s.runs += 1;
        s.rows += rows;
        s.bytes += bytes;
    });
    Ok(SortedRun { name, rows, bytes })
}

struct SortedRun {
    name: String,
    rows: u64,
    bytes: u64,
}

/// An external sort of `(key, row)` entries by key bytes; see the module docs.
pub struct Sorter {
    budget: usize,
    limit: Option<usize>,
    buf: Vec<SortEntry>,
    bytes: usize,
    seq: u64,
    /// With a limit: entries with a key above this cannot be among the first `limit`.
    cutoff: Option<Vec<u8>>,
    temp: Option<TempDb>,
    runs: VecDeque<SortedRun>,
    next_run_id: u64,
}

impl Sorter {
    /// A sorter holding at most `budget` bytes in memory; with `limit`, only the first
    /// `limit` entries are kept.
    pub fn new(budget: usize, limit: Option<usize>) -> Sorter {
        Sorter {
            budget: budget.max(1),
            limit,
            buf: Vec::new(),
            bytes: 0,
            seq: 0,
            cutoff: None,
            temp: None,
            runs: VecDeque::new(),
            next_run_id: 0,
        }
    }

    /// [`Sorter::push`] of `key` and `row` when the entry can still be among the first
    /// `limit` ones: only then are they taken. Otherwise `key` is cleared and `row` left, so a
    /// caller that fills the same buffers for each entry (a scan's reused row) does not
    /// allocate for the entries a top-N sort drops.
    pub fn offer(&mut self, work: &WorkMem, key: &mut Vec<u8>, row: &mut Vec<Value>) -> Result<()> {
        if let Some(c) = &self.cutoff {
            // The key as `push` would compare it: with the next sequence number appended.
            let len = key.len();
            key.extend_from_slice(&self.seq.to_be_bytes());
            let over = *key > *c;
            key.truncate(len);
            if over {
                key.clear();
                return Ok(());
            }
        }
        self.push(work, core::mem::take(key), core::mem::take(row))
    }

    /// Add an entry; the sequence number is appended to `key`.
    pub fn push(&mut self, work: &WorkMem, mut key: Vec<u8>, row: Vec<Value>) -> Result<()> {
        key.extend_from_slice(&self.seq.to_be_bytes());
        self.seq += 1;
        if let Some(c) = &self.cutoff {
            if key > *c {
                return Ok(());
            }
        }
        let e = (key, row);
        self.bytes += sort_entry_bytes(&e);
        self.buf.push(e);
        if let Some(k) = self.limit {
            if self.buf.len() >= k.saturating_mul(2).max(64) {
                self.cut_to_limit(k);
            }
        }
        if self.bytes > self.budget {
            work.note_buffered(self.bytes);
            if let Some(k) = self.limit {
                self.cut_to_limit(k);
            }
            // Still mostly full (the best `limit` rows alone nearly fill it): write them out.
            if self.bytes > self.budget / 4 * 3 || self.limit.is_none() {
                self.write_run(work)?;
            }
        }
        Ok(())
    }

    fn cut_to_limit(&mut self, k: usize) {
        if self.buf.len() <= k {
            return;
        }
        if k == 0 {
            self.buf.clear();
        } else {
            self.buf.select_nth_unstable_by(k - 1, |a, b| a.0.cmp(&b.0));
            self.buf.truncate(k);
            let worst = self.buf.iter().map(|e| &e.0).max().cloned();
            if let Some(w) = worst {
                if self.cutoff.as_ref().is_none_or(|c| w < *c) {
                    self.cutoff = Some(w);
                }
            }
        }
        self.bytes = self.buf.iter().map(sort_entry_bytes).sum();
    }

    fn sort_buf(&mut self) {
        self.buf.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(k) = self.limit {
            self.buf.truncate(k);
        }
    }

    /// Sort the buffer and write it as a run.
    fn write_run(&mut self, work: &WorkMem) -> Result<()> {
        self.sort_buf();
        if self.temp.is_none() {
            self.temp = Some(work.temp_db()?);
        }
        let name = alloc::format!("run{}", self.next_run_id);
        self.next_run_id += 1;
        let temp = self.temp.as_ref().ok_or_else(|| Error::Sql("no temp db".into()))?;
        let mut entries = self.buf.drain(..);
        let run = write_sorted_run(work, temp, name, &[], || Ok(entries.next()))?;
        drop(entries);
        self.bytes = 0;
        self.runs.push_back(run);
        Ok(())
    }

    /// How many runs one merge reads at once, and how many entries each reads per batch.
    fn fan_in(&self) -> usize {
        (self.budget / (4 << 10)).clamp(2, 64)
    }

    fn reader(&self, run: SortedRun) -> SortedRunReader {
        let avg = (run.bytes / run.rows.max(1)).max(1) as usize + 64;
        let per_reader = self.budget / (2 * self.fan_in());
        SortedRunReader {
            run,
            meta: None,
            after: None,
            buf: VecDeque::new(),
            done: false,
            batch: (per_reader / avg).clamp(4, 1024),
        }
    }

    /// Finish adding: the entries in key order.
    pub fn finish(mut self, work: &WorkMem) -> Result<Sorted> {
        if let Some(k) = self.limit {
            self.cut_to_limit(k);
        }
        work.note_buffered(self.bytes);
        self.sort_buf();
        let mem = core::mem::take(&mut self.buf).into_iter();
        let Some(temp) = self.temp.take() else {
            return Ok(Sorted { mem, merge: None, left: self.limit });
        };
        // Merge runs until the remaining ones (plus the memory tail) fit one merge.
        let fan_in = self.fan_in();
        while self.runs.len() + 1 > fan_in {
            let take = fan_in.min(self.runs.len());
            let mut readers = Vec::with_capacity(take);
            for _ in 0..take {
                let r = self.runs.pop_front().ok_or_else(|| Error::Sql("run".into()))?;
                readers.push(self.reader(r));
            }
            let names: Vec<String> = readers.iter().map(|c| c.run.name.clone()).collect();
            let mut m = Merger::new(readers, Vec::new().into_iter(), temp.snapshot()?)?;
            let name = alloc::format!("run{}", self.next_run_id);
            self.next_run_id += 1;
            let (limit, mut n) = (self.limit, 0usize);
            let run = write_sorted_run(work, &temp, name, &names, || {
                let e = m.next()?;
                if e.is_none() || limit.is_some_and(|l| n >= l) {
                    return Ok(None);
                }
                n += 1;
                Ok(e)
            })?;
            self.runs.push_back(run);
        }
        let readers: Vec<SortedRunReader> =
            core::mem::take(&mut self.runs).into_iter().map(|r| self.reader(r)).collect();
        let merger = Merger::new(readers, mem, temp.snapshot()?)?;
        Ok(Sorted { mem: Vec::new().into_iter(), merge: Some((merger, temp)), left: self.limit })
    }
}

/// Reads one run in batches through the merge's read transaction (each batch seeks from the
/// run's root, so no borrow of the transaction is kept between calls).
struct SortedRunReader {
    run: SortedRun,
    /// Root page and entry count, once looked up.
    meta: Option<(u64, u64)>,
    after: Option<Vec<u8>>,
    buf: VecDeque<(Vec<u8>, Vec<u8>)>,
    done: bool,
    batch: usize,
}

impl SortedRunReader {
    fn next(&mut self, rx: &TempSnapshot) -> Result<Option<SortEntry>> {
        if self.buf.is_empty() && !self.done {
            self.done =
                rx.read_batch(&self.run.name, &mut self.meta, self.after.as_deref(), self.batch, &mut self.buf)?;
            if let Some((k, _)) = self.buf.back() {
                self.after = Some(k.clone());
            }
        }
        let Some((_, v)) = self.buf.pop_front() else { return Ok(None) };
        let mut at = 0;
        let len = get_varint(&v, &mut at)? as usize;
        let key = v.get(at..at.saturating_add(len)).ok_or_else(|| Error::Sql("bad run record".into()))?.to_vec();
        let mut row = Vec::new();
        decode_row(&v[at + len..], &mut row)?;
        Ok(Some((key, row)))
    }
}

/// A k-way merge of runs and a sorted in-memory tail, on one read snapshot of the runs.
struct Merger {
    rx: TempSnapshot,
    readers: Vec<SortedRunReader>,
    mem: alloc::vec::IntoIter<SortEntry>,
    /// The head row of each source (readers, then the memory tail).
    heads: Vec<Option<Vec<Value>>>,
    heap: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
}

impl Merger {
    fn new(
        mut readers: Vec<SortedRunReader>,
        mut mem: alloc::vec::IntoIter<SortEntry>,
        rx: TempSnapshot,
    ) -> Result<Merger> {
        let n = readers.len();
        let mut heads = Vec::with_capacity(n + 1);
        let mut heap = BinaryHeap::with_capacity(n + 1);
        for (i, c) in readers.iter_mut().enumerate() {
            match c.next(&rx)? {
                Some((k, r)) => {
                    heap.push(Reverse((k, i)));
                    heads.push(Some(r));
                }
                None => heads.push(None),
            }
        }
        match mem.next() {
            Some((k, r)) => {
                heap.push(Reverse((k, n)));
                heads.push(Some(r));
            }
            None => heads.push(None),
        }
        Ok(Merger { rx, readers, mem, heads, heap })
    }

    fn next(&mut self) -> Result<Option<SortEntry>> {
        let Some(Reverse((key, i))) = self.heap.pop() else { return Ok(None) };
        let row = self.heads.get_mut(i).and_then(Option::take).ok_or_else(|| Error::Sql("merge head".into()))?;
        let refill = match self.readers.get_mut(i) {
            Some(c) => c.next(&self.rx)?,
            None => self.mem.next(),
        };
        if let Some((k, r)) = refill {
            self.heap.push(Reverse((k, i)));
            self.heads[i] = Some(r);
        }
        Ok(Some((key, row)))
    }
}

/// The sorted entries of a [`Sorter`], streamed. Holds the temporary database, if any, until
/// dropped.
pub struct Sorted {
    mem: alloc::vec::IntoIter<SortEntry>,
    merge: Option<(Merger, TempDb)>,
    left: Option<usize>,
}

impl Sorted {
    /// The next entry (key with its sequence number, row).
    pub fn next_entry(&mut self) -> Result<Option<SortEntry>> {
        if let Some(l) = &mut self.left {
            if *l == 0 {
                self.merge = None;
                return Ok(None);
            }
            *l -= 1;
        }
        match &mut self.merge {
            None => Ok(self.mem.next()),
            Some((m, _)) => {
                let e = m.next()?;
                if e.is_none() {
                    self.merge = None; // drop the temporary database now
                }
                Ok(e)
            }
        }
    }
}

/// Reads [`Sorted`] entries a group (equal key bodies) at a time, without holding a group.
pub struct Groups {
    sorted: Sorted,
    pending: Option<SortEntry>,
}

impl Groups {
    /// Group the entries of `sorted`.
    pub fn new(sorted: Sorted) -> Groups {
        Groups { sorted, pending: None }
    }

    /// The first entry of the next group.
    pub fn first(&mut self) -> Result<Option<SortEntry>> {
        match self.pending.take() {
            Some(e) => Ok(Some(e)),
            None => self.sorted.next_entry(),
        }
    }

    /// The next entry if it belongs to the group whose key body is `body`.
    pub fn more(&mut self, body: &[u8]) -> Result<Option<SortEntry>> {
        let e = match self.pending.take() {
            Some(e) => e,
            None => match self.sorted.next_entry()? {
                Some(e) => e,
                None => return Ok(None),
            },
        };
        if key_body(&e.0) == body {
            Ok(Some(e))
        } else {
            self.pending = Some(e);
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::cmp::Ordering;

    fn samples() -> Vec<Value> {
        let mut v = vec![
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Integer(i64::MAX),
            Value::Integer(0),
            Value::Integer(-1),
            Value::Real(0.5),
            Value::Real(-2.5),
            Value::Real(1.0),
            Value::Real(9.3e18),
            Value::Text(crate::sql::Text::new()),
            Value::Text("a".into()),
            Value::Text("A".into()),
            Value::Text("a ".into()),
            Value::Text("ab".into()),
            Value::Text("B".into()),
            Value::Text("a\0".into()),
            Value::Blob(vec![]),
            Value::Blob(vec![0]),
            Value::Blob(vec![1, 2]),
        ];
        for i in -3..3 {
            v.push(Value::Integer(i * 5));
        }
        v
    }

    /// The comparison ORDER BY means (what `exec` sorted with before sort keys existed).
    fn reference(a: &Value, b: &Value, desc: bool, nulls_first: bool, coll: Coll) -> Ordering {
        match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = coll.cmp(a, b);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    }

    #[test]
    fn sort_key_order_is_order_by_order() {
        let s = samples();
        for coll in [Coll::Binary, Coll::NoCase, Coll::Rtrim] {
            for desc in [false, true] {
                for nulls_first in [false, true] {
                    for a in &s {
                        for b in &s {
                            let (mut ka, mut kb) = (Vec::new(), Vec::new());
                            sort_key(&mut ka, a, desc, nulls_first, coll);
                            sort_key(&mut kb, b, desc, nulls_first, coll);
                            // A second term after the first must not change the first's order.
                            sort_key(&mut ka, &Value::Integer(1), false, true, Coll::Binary);
                            sort_key(&mut kb, &Value::Integer(0), false, true, Coll::Binary);
                            let want = reference(a, b, desc, nulls_first, coll);
                            let got = ka.cmp(&kb);
                            if want == Ordering::Equal {
                                assert_eq!(got, Ordering::Greater, "{a:?} {b:?} {coll:?} {desc} {nulls_first}");
                            } else {
                                assert_eq!(got, want, "{a:?} {b:?} {coll:?} {desc} {nulls_first}");
                            }
                        }
                    }
                }
            }
        }
    }

    fn sort_all(budget: usize, limit: Option<usize>, keys: &[u32]) -> (Vec<u32>, SpillStats) {
        let work = WorkMem::default();
        work.storage.replace(TempStorage::Device(Arc::new(|| Ok(Box::new(crate::MemoryDevice::new()) as Box<_>))));
        let mut s = Sorter::new(budget, limit);
        for (i, k) in keys.iter().enumerate() {
            s.push(&work, k.to_be_bytes().to_vec(), vec![Value::Integer(i as i64), Value::Text("x".repeat(40).into())])
                .unwrap();
        }
        let mut out = Vec::new();
        let mut sorted = s.finish(&work).unwrap();
        while let Some((k, row)) = sorted.next_entry().unwrap() {
            let key = u32::from_be_bytes(key_body(&k).try_into().unwrap());
            assert_eq!(
                keys[match row[0] {
                    Value::Integer(i) => i as usize,
                    _ => unreachable!(),
                }],
                key
            );
            out.push(key);
        }
        (out, work.stats.get())
    }

    /// Entries fed through `offer` (one reused key and row buffer) come out as through `push`:
    /// the same rows, ties kept in arrival order, under every limit and budget.
    #[test]
    fn offer_keeps_what_push_keeps() {
        let run = |budget: usize, limit: Option<usize>, offer: bool| -> Vec<(Vec<u8>, i64)> {
            let work = WorkMem::default();
            work.storage.replace(TempStorage::Device(Arc::new(|| Ok(Box::new(crate::MemoryDevice::new()) as Box<_>))));
            let mut s = Sorter::new(budget, limit);
            let (mut key, mut row) = (Vec::new(), Vec::new());
            let mut x = 777u32;
            for i in 0..5_000i64 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                key.extend_from_slice(&(x % 50).to_be_bytes());
                row.clear();
                row.extend([Value::Integer(i), Value::Text("y".repeat(30).into())]);
                if offer {
                    s.offer(&work, &mut key, &mut row).unwrap();
                } else {
                    s.push(&work, core::mem::take(&mut key), core::mem::take(&mut row)).unwrap();
                }
                assert!(key.is_empty());
            }
            let mut sorted = s.finish(&work).unwrap();
            let mut out = Vec::new();
            while let Some((k, r)) = sorted.next_entry().unwrap() {
                let Value::Integer(i) = r[0] else { unreachable!() };
                out.push((key_body(&k).to_vec(), i));
            }
            out
        };
        for budget in [MIN_WORK_MEMORY, 1 << 30] {
            for limit in [None, Some(0), Some(1), Some(5), Some(64), Some(999), Some(6_000)] {
                assert_eq!(run(budget, limit, true), run(budget, limit, false), "budget {budget}, limit {limit:?}");
            }
        }
    }

    #[test]
    fn external_sort_matches_in_memory_sort() {
        let mut x = 12345u32;
        let keys: Vec<u32> = (0..20_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x % 5000
            })
            .collect();
        let mut want = keys.clone();
        want.sort();
        let (mem, st) = sort_all(1 << 30, None, &keys);
        assert_eq!(mem, want);
        assert_eq!(st.runs, 0);
        let (ext, st) = sort_all(MIN_WORK_MEMORY, None, &keys);
        assert_eq!(ext, want);
        assert!(st.runs > 64, "{st:?}"); // more runs than one merge takes: multi-pass merge
        assert!(st.peak_buffered < 2 * MIN_WORK_MEMORY as u64, "{st:?}");
        for limit in [0, 1, 7, 500, 19_999, 20_000, 30_000] {
            let (top, _) = sort_all(MIN_WORK_MEMORY, Some(limit), &keys);
            assert_eq!(top, want[..limit.min(want.len())], "limit {limit}");
            let (top, _) = sort_all(1 << 30, Some(limit), &keys);
            assert_eq!(top, want[..limit.min(want.len())], "limit {limit}");
        }
    }
}
