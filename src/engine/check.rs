//! Integrity check: walk every page reachable from the last commit and account for every page
//! in the file.
//!
//! Verified per page: checksum and self-id, page kind, slot/cell layout, key order inside the
//! page and against the separators above it, equal leaf depth; per overflow run: checksum and
//! header; per table: the stored entry count; for the file: no page is both reachable and free
//! or reachable twice, and every page is reachable, free, free-list, log or header (pages that
//! are none of these are reported as leaked: harmless but wasted).

use crate::engine::format::page_no;
use crate::engine::page::PageId;
use crate::engine::page::{LeafValue, Node};
use crate::engine::pager::Pager;
use crate::error::Error;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// What [`crate::Database::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Pages in the file.
    pub page_count: u64,
    /// Tree and overflow pages reached and verified.
    pub pages_checked: u64,
    /// Pages on the free list (or waiting to be).
    pub free_pages: u64,
    /// Tables found.
    pub tables: u64,
    /// Entries across all tables as of the last commit (the trees' entries, plus what the
    /// commits not yet folded into them added or removed).
    pub entries: u64,
    /// Pages neither reachable nor free (space leaks; not data damage).
    pub leaked_pages: u64,
    /// Damage found, one line each, naming the page.
    pub errors: Vec<String>,
}

impl CheckReport {
    /// Whether no damage was found.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

pub(crate) struct Layout {
    pub page_count: u64,
    pub log_regions: Vec<(u64, u64)>,
    pub free: Vec<PageId>,
    pub freelist_pages: Vec<PageId>,
}

const MAX_ERRORS: usize = 100;

/// A page to visit: id, depth, and the key bounds its parent's separators impose.
type Visit = (PageId, usize, Option<Vec<u8>>, Option<Vec<u8>>);

struct Walker<'a> {
    /// Reads the pages of the snapshot being checked (the caller holds that snapshot).
    pager: &'a Pager,
    /// 0 = unseen, 1 = reachable, 2 = free, 3 = reserved (header, log, free list).
    state: Vec<u8>,
    report: CheckReport,
    /// Errors found past the first `MAX_ERRORS` (counted, not listed).
    more_errors: u64,
}

impl Walker<'_> {
    fn error(&mut self, page: PageId, msg: impl Into<String>) {
        if self.report.errors.len() < MAX_ERRORS {
            self.report.errors.push(format!("page {}: {}", page_no(page), msg.into()));
        } else {
            self.more_errors += 1;
        }
    }

    /// Mark the page `id` names as reachable; false (and an error) if it cannot be.
    fn claim(&mut self, id: PageId, what: &str) -> bool {
        let id = page_no(id);
        match self.state.get(id as usize).copied() {
            None => {
                self.error(id, format!("{what} page beyond the end of the file ({} pages)", self.state.len()));
                false
            }
            Some(0) => {
                self.state[id as usize] = 1;
                true
            }
            Some(1) => {
                self.error(id, format!("{what} page reachable twice"));
                false
            }
            Some(2) => {
                self.error(id, format!("{what} page is also on the free list"));
                false
            }
            Some(_) => {
                self.error(id, format!("{what} page overlaps the header, log or free list"));
                false
            }
        }
    }

    /// Walk a tree; returns the number of entries (and calls `on_entry` for each leaf entry).
    fn walk(&mut self, root: PageId, mut on_entry: impl FnMut(&mut Self, &[u8], &[u8])) -> u64 {
        if root == 0 {
            return 0;
        }
        let mut entries = 0;
        let mut leaf_depth: Option<usize> = None;
        // (page, depth, low bound, high bound)
        let mut stack: Vec<Visit> = vec![(root, 0, None, None)];
        while let Some((id, depth, lo, hi)) = stack.pop() {
            if depth >= crate::engine::btree::MAX_DEPTH {
                self.error(id, "tree deeper than the depth limit");
                continue;
            }
            if !self.claim(id, "tree") {
                continue;
            }
            let page = match self.pager.read_page_checked(id) {
                Ok(p) => p,
                Err(e) => {
                    self.error(id, describe(&e));
                    continue;
                }
            };
            self.report.pages_checked += 1;
            let node = Node::new(&page);
            if let Err(why) = node.validate() {
                self.error(id, why);
                continue;
            }
            let n = node.len();
            if n > 0 {
                if lo.as_deref().is_some_and(|l| node.key(0) < l) {
                    self.error(id, "first key below its parent's separator");
                }
                if hi.as_deref().is_some_and(|h| node.key(n - 1) >= h) {
                    self.error(id, "last key at or above its parent's separator");
                }
            }
            if node.is_leaf() {
                match leaf_depth {
                    None => leaf_depth = Some(depth),
                    Some(d) if d != depth => self.error(id, format!("leaf at depth {depth}, others at {d}")),
                    _ => {}
                }
                for i in 0..n {
                    entries += 1;
                    let key = node.key(i).to_vec();
                    match node.value(i) {
                        LeafValue::Inline(v) => {
                            let v = v.to_vec();
                            on_entry(self, &key, &v);
                        }
                        LeafValue::Overflow { page: first, len } => {
                            let pages = self.pager.run_pages(len);
                            for p in page_no(first)..page_no(first) + pages {
                                self.claim(p, "overflow");
                            }
                            self.report.pages_checked += pages;
                            match self.pager.read_overflow(first, len) {
                                Ok(v) => {
                                    let v = v.to_vec();
                                    on_entry(self, &key, &v)
                                }
                                Err(e) => self.error(first, describe(&e)),
                            }
                        }
                    }
                }
            } else {
                for i in 0..=n {
                    let clo = if i == 0 { lo.clone() } else { Some(node.key(i - 1).to_vec()) };
                    let chi = if i == n { hi.clone() } else { Some(node.key(i).to_vec()) };
                    stack.push((node.child(i), depth + 1, clo, chi));
                }
            }
        }
        entries
    }
}

fn describe(e: &Error) -> String {
    match e {
        Error::Corrupted { reason, .. } => reason.clone(),
        other => format!("{other}"),
    }
}

/// Walk the snapshot whose catalog root is `catalog_root` (the caller holds a read transaction
/// on it, so none of its pages is reused meanwhile).
pub(crate) fn check(pager: &Pager, catalog_root: PageId, layout: &Layout) -> CheckReport {
    let mut w =
        Walker { pager, state: vec![0u8; layout.page_count as usize], report: CheckReport::default(), more_errors: 0 };
    w.report.page_count = layout.page_count;
    if let Some(s) = w.state.get_mut(0) {
        *s = 3;
    }
    for &(start, pages) in &layout.log_regions {
        for p in start..start + pages {
            if let Some(s) = w.state.get_mut(p as usize) {
                *s = 3;
            }
        }
    }
    for &p in &layout.freelist_pages {
        if let Some(s) = w.state.get_mut(p as usize) {
            *s = 3;
        }
    }
    for &p in &layout.free {
        match w.state.get_mut(p as usize) {
            Some(s @ 0) => *s = 2,
            _ => w.error(p, "free page outside the data pages or listed twice"),
        }
    }
    w.report.free_pages = layout.free.len() as u64;
    let mut tables: Vec<(String, PageId, u64)> = Vec::new();
    w.walk(catalog_root, |w, k, v| {
        let name = String::from_utf8_lossy(k).into_owned();
        match crate::engine::format::decode_pair(v) {
            Some((root, count)) => tables.push((name, root, count)),
            None => w.error(catalog_root, format!("catalog entry {name:?} has {} bytes, expected 16", v.len())),
        }
    });
    for (name, root, count) in tables {
        w.report.tables += 1;
        let n = w.walk(root, |_, _, _| {});
        w.report.entries += n;
        if n != count {
            w.error(root, format!("table {name:?} holds {n} entries but its count says {count}"));
        }
    }
    w.report.leaked_pages = w.state.iter().filter(|&&s| s == 0).count() as u64;
    if w.more_errors > 0 {
        w.report.errors.push(format!("... and {} more errors not listed", w.more_errors));
    }
    w.report
}
