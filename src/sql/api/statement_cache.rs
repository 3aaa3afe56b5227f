//! The connection's statement cache: exact SQL text → [`Prepared`], least recently used first
//! out.
//!
//! An entry is a clone of a [`Prepared`], which shares its plan slot with every other clone:
//! a plan made when any of them runs serves them all, and it is still checked against the
//! schema generation before each run (`Connection::compiled`), so the cache holds no plan
//! that could outlive its schema. Lookups and insertions cost one hash of the text; the
//! recency order is a doubly linked list threaded through the slots, so eviction is O(1).

use alloc::string::String;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::sql::api::connection::Prepared;

/// Texts longer than this are not cached (an entry keeps its text twice: key and statement).
pub(super) const MAX_CACHED_TEXT: usize = 16 * 1024;

/// The default number of entries.
pub(super) const DEFAULT_CAPACITY: usize = 64;

const NONE: usize = usize::MAX;

struct Slot {
    /// The key's hash (kept: eviction and table growth do not hash the text again).
    hash: u64,
    key: String,
    prepared: Prepared,
    /// Neighbours in recency order (`NONE` at the ends): `prev` is more recent.
    prev: usize,
    next: usize,
}

/// Counts of the cache's work since the connection opened (not part of the API: tests and
/// benchmarks read it).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatementCacheStats {
    /// Lookups that found the text.
    pub hits: u64,
    /// Lookups that did not (the text was parsed).
    pub misses: u64,
    /// Entries now held.
    pub entries: usize,
}

pub(super) struct StatementCache {
    capacity: usize,
    hasher: DefaultHashBuilder,
    /// Slot indices, hashed by their key.
    table: HashTable<usize>,
    slots: Vec<Slot>,
    /// Most and least recently used slots.
    head: usize,
    tail: usize,
    hits: u64,
    misses: u64,
}

impl Default for StatementCache {
    fn default() -> Self {
        StatementCache {
            capacity: DEFAULT_CAPACITY,
            hasher: DefaultHashBuilder::default(),
            table: HashTable::new(),
            slots: Vec::new(),
            head: NONE,
            tail: NONE,
            hits: 0,
            misses: 0,
        }
    }
}

impl StatementCache {
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Change the bound, dropping the least recently used entries past it.
    pub(super) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.slots.len() > capacity {
            self.evict_lru();
        }
        if capacity == 0 {
            // Give the memory back as well.
            self.table = HashTable::new();
            self.slots = Vec::new();
        }
    }

    pub(super) fn stats(&self) -> StatementCacheStats {
        StatementCacheStats { hits: self.hits, misses: self.misses, entries: self.slots.len() }
    }

    /// Whether `sql` is cached (without touching its recency).
    pub(super) fn contains(&self, sql: &str) -> bool {
        let slots = &self.slots;
        self.table.find(self.hasher.hash_one(sql), |&i| slots[i].key == sql).is_some()
    }

    /// The cached statement for exactly `sql`, made the most recently used.
    pub(super) fn get(&mut self, sql: &str) -> Option<Prepared> {
        if self.capacity == 0 {
            return None;
        }
        let slots = &self.slots;
        let Some(&i) = self.table.find(self.hasher.hash_one(sql), |&i| slots[i].key == sql) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        self.unlink(i);
        self.push_front(i);
        Some(self.slots[i].prepared.clone())
    }

    /// Remember `prepared` as the statement of `sql` (not already cached: callers looked it up
    /// first), evicting the least recently used entry if the cache is full.
    pub(super) fn insert(&mut self, sql: &str, prepared: &Prepared) {
        if self.capacity == 0 || sql.len() > MAX_CACHED_TEXT {
            return;
        }
        // A full cache's evicted text buffer takes the new text (no allocation once warm).
        let mut key = match self.slots.len() >= self.capacity {
            true => self.evict_lru().unwrap_or_default(),
            false => String::new(),
        };
        key.clear();
        key.push_str(sql);
        let hash = self.hasher.hash_one(sql);
        let i = self.slots.len();
        self.slots.push(Slot { hash, key, prepared: prepared.clone(), prev: NONE, next: NONE });
        let slots = &self.slots;
        self.table.insert_unique(hash, i, |&j| slots[j].hash);
        self.push_front(i);
    }

    /// Every cached statement, to drop plans that must not be used again.
    pub(super) fn statements(&self) -> impl Iterator<Item = &Prepared> {
        self.slots.iter().map(|s| &s.prepared)
    }

    /// Make `b` follow `a` in the recency list (`NONE` for `a`: `b` is the head; for `b`:
    /// `a` is the tail).
    fn connect(&mut self, a: usize, b: usize) {
        match a {
            NONE => self.head = b,
            a => self.slots[a].next = b,
        }
        match b {
            NONE => self.tail = a,
            b => self.slots[b].prev = a,
        }
    }

    fn unlink(&mut self, i: usize) {
        self.connect(self.slots[i].prev, self.slots[i].next);
    }

    fn push_front(&mut self, i: usize) {
        self.connect(i, self.head);
        self.connect(NONE, i);
    }

    /// Remove the least recently used entry (the last slot moves into its place); its text.
    fn evict_lru(&mut self) -> Option<String> {
        let i = self.tail;
        if i == NONE {
            return None;
        }
        self.unlink(i);
        if let Ok(e) = self.table.find_entry(self.slots[i].hash, |&j| j == i) {
            e.remove();
        }
        let last = self.slots.len() - 1;
        if i != last {
            // Re-point the moved slot's neighbours and its table entry.
            if let Some(e) = self.table.find_mut(self.slots[last].hash, |&j| j == last) {
                *e = i;
            }
            let (prev, next) = (self.slots[last].prev, self.slots[last].next);
            self.connect(prev, i);
            self.connect(i, next);
        }
        Some(self.slots.swap_remove(i).key)
    }
}
