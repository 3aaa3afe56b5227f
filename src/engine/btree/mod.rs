//! The copy-on-write B+tree: lookup, insert, remove, cursors, over raw page bytes.
//!
//! The tree code knows nothing about caches, files or transactions. It reads pages through
//! [`PageSource`] and changes them through [`PageStore`], whose `make_mut` hands back a page
//! private to the current write transaction, copying a committed page to a new id first
//! (copy-on-write). A committed page is therefore never modified, which is what lets readers
//! hold snapshots without locks: a snapshot is just a root page id.
//!
//! Shape rules: leaves hold the entries; branches hold separators, which are the shortest
//! prefixes that split two neighbouring leaves (suffix truncation keeps branches wide).
//! A node is merged with a sibling when it falls below a quarter full and the two fit in one
//! page. Splits are by bytes, except that an insert at the end of a node leaves the old node
//! full (sequential loads fill pages completely).

use crate::engine::format::{get_u64, kind, PAGE_HEADER};
use crate::engine::page::{
    encode_branch_cell, encode_leaf_cell, encode_overflow_cell, leaf_cell_key, leaf_cell_len, LeafValue, Node, NodeMut,
    BRANCH_CELL_HEADER, SLOT_SIZE,
};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::error::{Error, Result};
use alloc::vec::Vec;
use core::ops::Bound;

/// Deepest tree we accept; anything deeper is a cycle or corruption (a 4 KiB-page tree of
/// minimal fan-out 2 this deep would hold more than 2^40 entries).
pub const MAX_DEPTH: usize = 40;

/// Read access to pages of one snapshot.
pub trait PageSource {
    /// Page `id`, verified (checksum, kind plausible) on first load.
    fn page(&self, id: PageId) -> Result<PageRef<'_>>;
    /// The `len` bytes of the overflow value starting at page `first`, checksum verified.
    fn overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>>;
    /// Page size in bytes.
    fn page_size(&self) -> usize;
    /// Hint that page `id` will be read soon (a source that maps the file starts loading its
    /// first and last lines; others do nothing). Never fails, never verifies.
    #[inline]
    fn prefetch(&self, _id: PageId) {}
}

/// Write access for the one write transaction.
pub trait PageStore: PageSource {
    /// A page id private to this transaction holding `id`'s content: `id` itself if it is
    /// already private, else a copy at a new id (the old one is freed as of this commit).
    fn make_mut(&mut self, id: PageId) -> Result<PageId>;
    /// Bytes of a private page (after `make_mut` or `alloc`).
    fn get_mut(&mut self, id: PageId) -> &mut [u8];
    /// A new private page (contents unspecified; callers `init` it).
    fn alloc(&mut self) -> Result<PageId>;
    /// Release a page that this transaction's tree no longer references.
    fn free(&mut self, id: PageId);
    /// Store a large value in a new overflow run; returns its first page.
    fn write_overflow(&mut self, value: &[u8]) -> Result<PageId>;
    /// Release an overflow run.
    fn free_overflow(&mut self, first: PageId, len: usize);
    /// A private page id to hold a complete replacement of page `id`'s content: `id` itself
    /// if it is private, else a fresh page (and `id` is freed). Contents are unspecified.
    fn rewrite(&mut self, id: PageId) -> Result<PageId>;
    /// Called between nodes of a batch application, when no page is borrowed: a chance to
    /// write private pages out if the transaction has outgrown its memory budget.
    fn spill_point(&mut self) -> Result<()>;
}

/// Largest inline leaf cell for a page size: a leaf always holds at least four.
#[inline]
pub fn max_inline_cell(page_size: usize) -> usize {
    (page_size - PAGE_HEADER) / 4 - SLOT_SIZE
}

#[inline(always)]
fn check_node(page: &[u8], id: PageId) -> Result<()> {
    match page[0] {
        kind::LEAF | kind::BRANCH => Ok(()),
        k => Err(not_a_node(id, k)),
    }
}

/// The error of [`check_node`], out of line so the check itself inlines to one comparison.
#[cold]
#[inline(never)]
fn not_a_node(id: PageId, k: u8) -> Error {
    Error::corrupted(id, alloc::format!("expected a tree page, found kind {k}"))
}

/// Look up `key`; returns the value.
pub fn get<'a, S: PageSource>(s: &'a S, root: PageId, key: &[u8]) -> Result<Option<Guard<'a>>> {
    if root == 0 {
        return Ok(None);
    }
    let mut id = root;
    let mut parent: Option<(PageRef<'a>, usize)> = None;
    for _ in 0..MAX_DEPTH {
        let page = s.page(id)?;
        check_node(&page, id)?;
        let node = Node::new(&page);
        if let Some((p, ci)) = &parent {
            check_bounds(&Node::new(p), *ci, &node, id)?;
        }
        if node.is_leaf() {
            return match node.search(key) {
                Ok(i) => Ok(Some(leaf_value(s, &page, i)?)),
                Err(_) => Ok(None),
            };
        }
        let ci = node.child_index(key);
        id = node.child(ci);
        parent = Some((page, ci));
    }
    Err(Error::corrupted(root, "tree deeper than the depth limit (cycle?)"))
}

/// A node reached as child `ci` of `parent` must hold keys within the parent's separators
/// around it: a page that does not (a stale image, another page's bytes under this id) is
/// reported instead of being read as this part of the tree.
#[inline]
fn check_bounds(parent: &Node<'_>, ci: usize, child: &Node<'_>, id: PageId) -> Result<()> {
    let n = child.len();
    if n > 0
        && ((ci > 0 && child.key(0) < parent.key(ci - 1)) || (ci < parent.len() && child.key(n - 1) >= parent.key(ci)))
    {
        return Err(Error::corrupted(id, "page keys outside its parent's separators (a stale or misplaced page)"));
    }
    Ok(())
}

/// The value of leaf cell `i` of `page` as a guard.
fn leaf_value<'a, S: PageSource>(s: &'a S, page: &PageRef<'a>, i: usize) -> Result<Guard<'a>> {
    let node = Node::new(page);
    match node.value(i) {
        LeafValue::Inline(v) => {
            let start = v.as_ptr() as usize - page.as_ptr() as usize;
            Ok(page.guard(start, v.len()))
        }
        LeafValue::Overflow { page: first, len } => s.overflow(first, len),
    }
}

fn key_guard<'a>(page: &PageRef<'a>, i: usize) -> Guard<'a> {
    let k = Node::new(page).key(i);
    let start = k.as_ptr() as usize - page.as_ptr() as usize;
    page.guard(start, k.len())
}

/// Encode the leaf cell for `key`/`value`, moving a large value to an overflow run.
fn make_leaf_cell<S: PageStore>(s: &mut S, key: &[u8], value: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if leaf_cell_len(key.len(), value.len(), false) <= max_inline_cell(s.page_size()) {
        encode_leaf_cell(out, key, value);
    } else {
        let first = s.write_overflow(value)?;
        encode_overflow_cell(out, key, first, value.len());
    }
    Ok(())
}

struct Ins {
    id: PageId,
    split: Option<(Vec<u8>, PageId)>,
    replaced: bool,
}

/// Insert or replace; returns the new root and whether an existing value was replaced.
pub fn insert<S: PageStore>(s: &mut S, root: PageId, key: &[u8], value: &[u8]) -> Result<(PageId, bool)> {
    let mut cell = Vec::with_capacity(leaf_cell_len(key.len(), value.len().min(4096), false));
    make_leaf_cell(s, key, value, &mut cell)?;
    if root == 0 {
        let id = s.alloc()?;
        let mut n = NodeMut::new(s.get_mut(id));
        n.init(kind::LEAF, id);
        n.push_cell(&cell);
        return Ok((id, false));
    }
    let r = insert_rec(s, root, key, &cell, 0)?;
    match r.split {
        None => Ok((r.id, r.replaced)),
        Some((sep, right)) => {
            let id = s.alloc()?;
            let mut c = Vec::new();
            encode_branch_cell(&mut c, r.id, &sep);
            let mut n = NodeMut::new(s.get_mut(id));
            n.init(kind::BRANCH, id);
            n.push_cell(&c);
            n.set_right_child(right);
            Ok((id, r.replaced))
        }
    }
}

fn insert_rec<S: PageStore>(s: &mut S, id: PageId, key: &[u8], cell: &[u8], depth: usize) -> Result<Ins> {
    if depth >= MAX_DEPTH {
        return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
    }
    enum Step {
        Leaf(core::result::Result<usize, usize>, Option<(PageId, usize)>),
        Branch(usize, PageId),
    }
    let step = {
        let page = s.page(id)?;
        check_node(&page, id)?;
        let node = Node::new(&page);
        if node.is_leaf() {
            let pos = node.search(key);
            let old_overflow = match pos {
                Ok(i) => match node.value(i) {
                    LeafValue::Overflow { page, len } => Some((page, len)),
                    LeafValue::Inline(_) => None,
                },
                Err(_) => None,
            };
            Step::Leaf(pos, old_overflow)
        } else {
            let ci = node.child_index(key);
            Step::Branch(ci, node.child(ci))
        }
    };
    match step {
        Step::Leaf(pos, old_overflow) => {
            let nid = s.make_mut(id)?;
            if let Some((first, len)) = old_overflow {
                s.free_overflow(first, len);
            }
            let mut n = NodeMut::new(s.get_mut(nid));
            let (pos, replaced) = match pos {
                Ok(i) => {
                    n.remove_cell(i);
                    (i, true)
                }
                Err(i) => (i, false),
            };
            if n.insert_cell(pos, cell) {
                return Ok(Ins { id: nid, split: None, replaced });
            }
            let (sep, right) = split(s, nid, pos, cell, None)?;
            Ok(Ins { id: nid, split: Some((sep, right)), replaced })
        }
        Step::Branch(ci, child) => {
            let r = insert_rec(s, child, key, cell, depth + 1)?;
            if r.id == child && r.split.is_none() {
                return Ok(Ins { id, split: None, replaced: r.replaced });
            }
            let nid = s.make_mut(id)?;
            let mut n = NodeMut::new(s.get_mut(nid));
            n.set_child(ci, r.id);
            let Some((sep, right)) = r.split else {
                return Ok(Ins { id: nid, split: None, replaced: r.replaced });
            };
            let mut c = Vec::with_capacity(BRANCH_CELL_HEADER + sep.len());
            encode_branch_cell(&mut c, r.id, &sep);
            if n.insert_cell(ci, &c) {
                n.set_child(ci + 1, right);
                return Ok(Ins { id: nid, split: None, replaced: r.replaced });
            }
            let (up, new_right) = split(s, nid, ci, &c, Some(right))?;
            Ok(Ins { id: nid, split: Some((up, new_right)), replaced: r.replaced })
        }
    }
}

/// Split the full node `id` while inserting `cell` at `pos`. For a branch, `right_of_new` is
/// the child that goes after the new cell. Returns (separator, new right sibling).
fn split<S: PageStore>(
    s: &mut S,
    id: PageId,
    pos: usize,
    cell: &[u8],
    right_of_new: Option<PageId>,
) -> Result<(Vec<u8>, PageId)> {
    let ps = s.page_size();
    let (is_leaf, mut cells, mut right_child) = {
        let b = s.get_mut(id);
        let node = Node::new(b);
        let cells: Vec<Vec<u8>> = (0..node.len()).map(|i| node.cell(i).to_vec()).collect();
        (node.is_leaf(), cells, node.right_child())
    };
    let old_len = cells.len();
    cells.insert(pos, cell.to_vec());
    if let Some(r) = right_of_new {
        // The child after the new cell: the next cell's child, or the node's right child.
        if pos + 1 < cells.len() {
            cells[pos + 1][..8].copy_from_slice(&r.to_le_bytes());
        } else {
            right_child = r;
        }
    }
    let costs: Vec<usize> = cells.iter().map(|c| c.len() + SLOT_SIZE).collect();
    let total: usize = costs.iter().sum();
    let cap = ps - PAGE_HEADER;
    // Choose m: cells[..m] stay left. Appends keep the left node full.
    let mut m = if is_leaf && pos == old_len && costs[..old_len].iter().sum::<usize>() <= cap {
        old_len
    } else {
        let mut acc = 0;
        let mut m = 0;
        while m < cells.len() && acc + costs[m] <= total / 2 {
            acc += costs[m];
            m += 1;
        }
        m
    };
    let min_right = if is_leaf { 1 } else { 2 };
    m = m.clamp(1, cells.len() - min_right);
    let new_id = s.alloc()?;
    let sep;
    if is_leaf {
        let left_last = leaf_cell_key(&cells[m - 1]).to_vec();
        let right_first = leaf_cell_key(&cells[m]);
        sep = shortest_separator(&left_last, right_first);
        build(s, id, kind::LEAF, &cells[..m], 0)?;
        build(s, new_id, kind::LEAF, &cells[m..], 0)?;
    } else {
        // cells[m] moves up: its child becomes the left node's right child.
        let up = &cells[m];
        let up_child = get_u64(up, 0);
        sep = up[BRANCH_CELL_HEADER..].to_vec();
        build(s, id, kind::BRANCH, &cells[..m], up_child)?;
        build(s, new_id, kind::BRANCH, &cells[m + 1..], right_child)?;
    }
    Ok((sep, new_id))
}

/// Rebuild private page `id` from sorted cells.
fn build<S: PageStore>(s: &mut S, id: PageId, k: u8, cells: &[Vec<u8>], right: PageId) -> Result<()> {
    let mut n = NodeMut::new(s.get_mut(id));
    n.init(k, id);
    for c in cells {
        if !n.push_cell(c) {
            return Err(Error::corrupted(id, "split produced an overfull node"));
        }
    }
    n.set_right_child(right);
    Ok(())
}

/// The shortest key `k` with `left < k <= right` (a prefix of `right`).
pub fn shortest_separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right[..(common + 1).min(right.len())].to_vec()
}

struct Rem {
    id: PageId,
    underflow: bool,
}

/// Remove `key`; returns the new root and whether the key was present.
pub fn remove<S: PageStore>(s: &mut S, root: PageId, key: &[u8]) -> Result<(PageId, bool)> {
    if root == 0 {
        return Ok((0, false));
    }
    let Some(r) = remove_rec(s, root, key, 0)? else {
        return Ok((root, false));
    };
    // Collapse an emptied root.
    let mut root = r.id;
    loop {
        let (leaf, n, only) = {
            let p = s.page(root)?;
            let node = Node::new(&p);
            (node.is_leaf(), node.len(), node.right_child())
        };
        if n > 0 {
            break;
        }
        s.free(root);
        if leaf {
            return Ok((0, true));
        }
        root = only;
    }
    Ok((root, true))
}

fn remove_rec<S: PageStore>(s: &mut S, id: PageId, key: &[u8], depth: usize) -> Result<Option<Rem>> {
    if depth >= MAX_DEPTH {
        return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
    }
    let ps = s.page_size();
    let (leaf, found, overflow, ci, child) = {
        let page = s.page(id)?;
        check_node(&page, id)?;
        let node = Node::new(&page);
        if node.is_leaf() {
            match node.search(key) {
                Ok(i) => {
                    let ov = match node.value(i) {
                        LeafValue::Overflow { page, len } => Some((page, len)),
                        LeafValue::Inline(_) => None,
                    };
                    (true, Some(i), ov, 0, 0)
                }
                Err(_) => return Ok(None),
            }
        } else {
            let ci = node.child_index(key);
            (false, None, None, ci, node.child(ci))
        }
    };
    if leaf {
        let i = found.expect("found");
        let nid = s.make_mut(id)?;
        if let Some((first, len)) = overflow {
            s.free_overflow(first, len);
        }
        let mut n = NodeMut::new(s.get_mut(nid));
        n.remove_cell(i);
        let underflow = n.node().used() < ps / 4;
        return Ok(Some(Rem { id: nid, underflow }));
    }
    let Some(r) = remove_rec(s, child, key, depth + 1)? else {
        return Ok(None);
    };
    let mut nid = id;
    if r.id != child {
        nid = s.make_mut(id)?;
        NodeMut::new(s.get_mut(nid)).set_child(ci, r.id);
    }
    if r.underflow {
        nid = s.make_mut(nid)?;
        try_merge(s, nid, ci)?;
    }
    let underflow = Node::new(&s.page(nid)?).used() < ps / 4;
    Ok(Some(Rem { id: nid, underflow }))
}

/// Merge child `ci` of private branch `parent` with a neighbour if both fit in one page.
fn try_merge<S: PageStore>(s: &mut S, parent: PageId, ci: usize) -> Result<()> {
    let ps = s.page_size();
    let (n, li, l, r, sep) = {
        let p = s.page(parent)?;
        let node = Node::new(&p);
        let n = node.len();
        if n == 0 {
            return Ok(());
        }
        let li = if ci > 0 { ci - 1 } else { 0 };
        (n, li, node.child(li), node.child(li + 1), node.key(li).to_vec())
    };
    let _ = n;
    let (fits, is_leaf) = {
        let lp = s.page(l)?;
        let rp = s.page(r)?;
        check_node(&lp, l)?;
        check_node(&rp, r)?;
        let (ln, rn) = (Node::new(&lp), Node::new(&rp));
        if ln.kind() != rn.kind() {
            return Err(Error::corrupted(parent, "siblings of different kinds"));
        }
        let extra = if ln.is_leaf() { 0 } else { BRANCH_CELL_HEADER + sep.len() + SLOT_SIZE };
        (ln.used() + rn.used() - PAGE_HEADER + extra <= ps, ln.is_leaf())
    };
    if !fits {
        return Ok(());
    }
    // Gather the right node's cells (and, for branches, the separator pulled down).
    let (mut cells, r_right): (Vec<Vec<u8>>, PageId) = {
        let rp = s.page(r)?;
        let rn = Node::new(&rp);
        ((0..rn.len()).map(|i| rn.cell(i).to_vec()).collect(), rn.right_child())
    };
    let l_new = s.make_mut(l)?;
    let mut ln = NodeMut::new(s.get_mut(l_new));
    if !is_leaf {
        let mut c = Vec::new();
        encode_branch_cell(&mut c, ln.node().right_child(), &sep);
        cells.insert(0, c);
    }
    for c in &cells {
        if !ln.push_cell(c) {
            return Err(Error::corrupted(l, "merge overflowed a node"));
        }
    }
    if !is_leaf {
        ln.set_right_child(r_right);
    }
    s.free(r);
    let mut pn = NodeMut::new(s.get_mut(parent));
    pn.remove_cell(li);
    pn.set_child(li, l_new);
    Ok(())
}

/// Free every page of the tree at `root`, overflow runs included.
pub fn free_tree<S: PageStore>(s: &mut S, root: PageId) -> Result<()> {
    if root == 0 {
        return Ok(());
    }
    let mut stack = alloc::vec![(root, 0usize)];
    // A damaged tree may reach a page twice: freeing it twice would hand it out twice.
    let mut seen = hashbrown::HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        if depth >= MAX_DEPTH {
            return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
        }
        if !seen.insert(id) {
            return Err(Error::corrupted(id, "page reachable twice in one tree"));
        }
        let mut overflows = Vec::new();
        {
            let page = s.page(id)?;
            check_node(&page, id)?;
            let node = Node::new(&page);
            if node.is_leaf() {
                for i in 0..node.len() {
                    if let LeafValue::Overflow { page, len } = node.value(i) {
                        overflows.push((page, len));
                    }
                }
            } else {
                for i in 0..=node.len() {
                    stack.push((node.child(i), depth + 1));
                }
            }
        }
        for (p, l) in overflows {
            s.free_overflow(p, l);
        }
        s.free(id);
    }
    Ok(())
}

/// How far ahead a forward cursor prefetches: the cells of this many entries, and the next
/// leaf once it is this many entries from the end of the current one.
const LOOKAHEAD: usize = 6;

/// A position in a tree: the path from the root to a leaf slot.
///
/// Moving to another leaf checks that keys keep their order across the move (the new leaf's
/// first key above the old one's last, or the reverse going back): a damaged tree (a stale
/// leaf, a subtree reachable twice) then ends a scan with a corruption error instead of
/// yielding keys out of order, which callers that continue after the last key would follow
/// forever.
pub struct Cursor<'a> {
    stack: Vec<(PageRef<'a>, usize)>,
    /// The key at the edge of the leaf just left (reused buffer).
    edge: Vec<u8>,
}

impl<'a> Cursor<'a> {
    fn descend<S: PageSource>(s: &'a S, root: PageId, mut pick: impl FnMut(&Node<'_>) -> usize) -> Result<Self> {
        let mut stack: Vec<(PageRef<'a>, usize)> = Vec::with_capacity(6);
        let mut id = root;
        loop {
            if stack.len() >= MAX_DEPTH {
                return Err(Error::corrupted(root, "tree deeper than the depth limit (cycle?)"));
            }
            let page = s.page(id)?;
            check_node(&page, id)?;
            let node = Node::new(&page);
            if let Some((p, ci)) = stack.last() {
                check_bounds(&Node::new(p), *ci, &node, id)?;
            }
            let i = pick(&node);
            let leaf = node.is_leaf();
            let next = if leaf { 0 } else { node.child(i) };
            stack.push((page, i));
            if leaf {
                return Ok(Cursor { stack, edge: Vec::new() });
            }
            id = next;
        }
    }

    /// Positioned at the first entry `>= key` (or `> key` when `exclusive`); may be past the end.
    pub fn seek<S: PageSource>(s: &'a S, root: PageId, key: &[u8], exclusive: bool) -> Result<Self> {
        let mut c = Self::descend(s, root, |n| {
            if n.is_leaf() {
                match n.search(key) {
                    Ok(i) if exclusive => i + 1,
                    Ok(i) | Err(i) => i,
                }
            } else {
                n.child_index(key)
            }
        })?;
        c.settle_forward(s)?;
        if let Some((p, i)) = c.stack.last() {
            if *i + LOOKAHEAD >= Node::new(p).len() {
                c.prefetch_next_leaf(s);
            }
        }
        c.prefetch_cells();
        Ok(c)
    }

    /// Positioned at the last entry `<= key` (or `< key` when `exclusive`); may be before the start.
    pub fn seek_back<S: PageSource>(s: &'a S, root: PageId, key: &[u8], exclusive: bool) -> Result<Option<Self>> {
        // Descend to the slot just past the wanted entry (without settling forward, which
        // would drop the path at the end of the tree), then step back one.
        let mut c = Self::descend(s, root, |n| {
            if n.is_leaf() {
                match n.search(key) {
                    Ok(i) if !exclusive => i + 1,
                    Ok(i) | Err(i) => i,
                }
            } else {
                n.child_index(key)
            }
        })?;
        Ok(if c.retreat(s)? { Some(c) } else { None })
    }

    /// Positioned at the first entry.
    pub fn first<S: PageSource>(s: &'a S, root: PageId) -> Result<Self> {
        let mut c = Self::descend(s, root, |_| 0)?;
        c.settle_forward(s)?;
        Ok(c)
    }

    /// Positioned at the last entry (None if the tree is empty).
    pub fn last<S: PageSource>(s: &'a S, root: PageId) -> Result<Option<Self>> {
        let mut c = Self::descend(s, root, |n| n.len())?;
        // The leaf index is len (one past the end); step back onto the last entry.
        Ok(if c.retreat(s)? { Some(c) } else { None })
    }

    /// If the leaf slot is past the leaf's end, move to the next leaf's first slot.
    fn settle_forward<S: PageSource>(&mut self, s: &'a S) -> Result<()> {
        let mut left = false; // whether `edge` holds the last key of a leaf left behind
        loop {
            let Some((page, i)) = self.stack.last() else { return Ok(()) };
            let node = Node::new(page);
            if *i < node.len() {
                if left && node.key(*i) <= self.edge.as_slice() {
                    return Err(out_of_order(page));
                }
                return Ok(());
            }
            if node.len() > 0 {
                self.edge.clear();
                self.edge.extend_from_slice(node.key(node.len() - 1));
                left = true;
            }
            // Pop up to a branch with a next child.
            self.stack.pop();
            loop {
                let Some((page, i)) = self.stack.last_mut() else { return Ok(()) };
                let n = Node::new(page).len();
                if *i < n {
                    *i += 1;
                    let child = Node::new(page).child(*i);
                    self.push_leftmost(s, child)?;
                    break;
                }
                self.stack.pop();
            }
        }
    }

    fn push_leftmost<S: PageSource>(&mut self, s: &'a S, id: PageId) -> Result<()> {
        self.push_edge(s, id, false)
    }

    fn push_rightmost<S: PageSource>(&mut self, s: &'a S, id: PageId) -> Result<()> {
        self.push_edge(s, id, true)
    }

    /// Descend from `id` along the first (or last) children, pushing each node; a leaf is left
    /// at slot 0 (or one past its last entry).
    fn push_edge<S: PageSource>(&mut self, s: &'a S, mut id: PageId, rightmost: bool) -> Result<()> {
        loop {
            if self.stack.len() >= MAX_DEPTH {
                return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
            }
            let page = s.page(id)?;
            check_node(&page, id)?;
            let node = Node::new(&page);
            if let Some((p, ci)) = self.stack.last() {
                check_bounds(&Node::new(p), *ci, &node, id)?;
            }
            let leaf = node.is_leaf();
            let i = if rightmost { node.len() } else { 0 };
            let next = if leaf { 0 } else { node.child(i) };
            self.stack.push((page, i));
            if leaf {
                return Ok(());
            }
            id = next;
        }
    }

    /// Whether the cursor is on an entry.
    #[inline]
    pub fn valid(&self) -> bool {
        match self.stack.last() {
            Some((p, i)) => *i < Node::new(p).len(),
            None => false,
        }
    }

    /// Key at the cursor (cursor must be valid).
    #[inline]
    pub fn key(&self) -> &[u8] {
        let (p, i) = self.stack.last().expect("valid cursor");
        let p: &[u8] = p;
        Node::new(p).key(*i)
    }

    /// Key and value at the cursor as guards.
    pub fn entry<S: PageSource>(&self, s: &'a S) -> Result<(Guard<'a>, Guard<'a>)> {
        let (p, i) = self.stack.last().expect("valid cursor");
        Ok((key_guard(p, *i), leaf_value(s, p, *i)?))
    }

    /// Step forward; returns false at the end.
    pub fn advance<S: PageSource>(&mut self, s: &'a S) -> Result<bool> {
        if let Some((p, i)) = self.stack.last_mut() {
            *i += 1;
            let (i, n) = (*i, Node::new(p).len());
            if i < n {
                if i + LOOKAHEAD == n {
                    self.prefetch_next_leaf(s);
                }
                return Ok(true);
            }
        }
        self.settle_forward(s)?;
        self.prefetch_cells();
        Ok(self.valid())
    }

    /// Start loading the cells of the next few entries of the leaf: a scan reads them one
    /// after another, and their cache misses then overlap.
    #[inline]
    fn prefetch_cells(&self) {
        if !cfg!(target_arch = "x86_64") {
            return; // prefetch hints exist only there; elsewhere this is dead code
        }
        if let Some((p, i)) = self.stack.last() {
            Node::new(p).prefetch_cells(*i, *i + LOOKAHEAD);
        }
    }

    /// Start loading the leaf after this one: a forward scan near the end of a leaf will
    /// need it, and its cache (and TLB) misses then overlap with the entries still ahead.
    #[inline]
    fn prefetch_next_leaf<S: PageSource>(&self, s: &S) {
        if !cfg!(target_arch = "x86_64") {
            return;
        }
        if let [.., (parent, ci), _] = self.stack.as_slice() {
            let n = Node::new(parent);
            if *ci < n.len() {
                s.prefetch(n.child(*ci + 1));
            }
        }
    }

    /// Step back; returns false before the start.
    pub fn retreat<S: PageSource>(&mut self, s: &'a S) -> Result<bool> {
        match self.stack.last_mut() {
            None => return Ok(false),
            Some((_, i)) if *i > 0 => {
                *i -= 1;
                return Ok(true);
            }
            Some(_) => {}
        }
        // At slot 0 of a leaf: climb to a branch where we can go left.
        let mut left = false; // whether `edge` holds the first key of the leaf left behind
        if let Some((p, _)) = self.stack.last() {
            let n = Node::new(p);
            if n.len() > 0 {
                self.edge.clear();
                self.edge.extend_from_slice(n.key(0));
                left = true;
            }
        }
        // Each turn moves one leaf to the left (the path's position only decreases).
        loop {
            self.stack.pop();
            loop {
                let Some((page, i)) = self.stack.last_mut() else {
                    return Ok(false);
                };
                if *i > 0 {
                    *i -= 1;
                    let child = Node::new(page).child(*i);
                    self.push_rightmost(s, child)?;
                    break;
                }
                self.stack.pop();
            }
            // push_rightmost leaves the leaf index at len; step onto the last entry.
            let (p, li) = self.stack.last_mut().expect("leaf");
            let n = Node::new(p).len();
            if n == 0 {
                // An empty leaf (only possible in a degenerate tree): keep walking left.
                continue;
            }
            *li = n - 1;
            if left && Node::new(p).key(n - 1) >= self.edge.as_slice() {
                return Err(out_of_order(p));
            }
            return Ok(true);
        }
    }
}

/// The error for keys found out of order across leaves.
fn out_of_order(page: &[u8]) -> Error {
    Error::corrupted(
        crate::engine::format::get_u64(page, 8),
        "keys out of order across leaves (a stale or misplaced page)",
    )
}

/// Iterator state over a key range in both directions. Each cursor rests on the last entry
/// it yielded, so the two ends meet when the next candidate reaches the other cursor's key.
pub struct RangeState<'a> {
    front: Option<Cursor<'a>>,
    back: Option<Cursor<'a>>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    done: bool,
    root: PageId,
}

impl<'a> RangeState<'a> {
    /// A range over `root` from `start` to `end`; cursors are positioned lazily.
    pub fn new(root: PageId, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Self {
        let done = root == 0
            || match (&start, &end) {
                (Bound::Included(a), Bound::Included(b)) => a > b,
                (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
                | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
                _ => false,
            };
        RangeState { front: None, back: None, start, end, done, root }
    }

    fn in_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        }
    }

    fn in_start(&self, key: &[u8]) -> bool {
        match &self.start {
            Bound::Included(e) => key >= e.as_slice(),
            Bound::Excluded(e) => key > e.as_slice(),
            Bound::Unbounded => true,
        }
    }

    /// Next entry from the front. (Inlined natively, where it pays; not in wasm, where size
    /// matters more.)
    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    pub fn next<S: PageSource>(&mut self, s: &'a S) -> Result<Option<(Guard<'a>, Guard<'a>)>> {
        let r = self.step_front(s);
        // After an error the cursor's path is unspecified: the range is over.
        self.done |= r.is_err();
        r
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    fn step_front<S: PageSource>(&mut self, s: &'a S) -> Result<Option<(Guard<'a>, Guard<'a>)>> {
        if self.done {
            return Ok(None);
        }
        let valid = match &mut self.front {
            None => {
                let c = match &self.start {
                    Bound::Included(k) => Cursor::seek(s, self.root, k, false)?,
                    Bound::Excluded(k) => Cursor::seek(s, self.root, k, true)?,
                    Bound::Unbounded => Cursor::first(s, self.root)?,
                };
                let v = c.valid();
                self.front = Some(c);
                v
            }
            Some(c) => c.advance(s)?,
        };
        let c = self.front.as_ref().expect("front cursor");
        let met = valid && self.back.as_ref().is_some_and(|b| c.key() >= b.key());
        if !valid || met || (!matches!(self.end, Bound::Unbounded) && !self.in_end(c.key())) {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(c.entry(s)?))
    }

    /// Next entry from the back.
    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    pub fn next_back<S: PageSource>(&mut self, s: &'a S) -> Result<Option<(Guard<'a>, Guard<'a>)>> {
        let r = self.step_back(s);
        self.done |= r.is_err();
        r
    }

    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    fn step_back<S: PageSource>(&mut self, s: &'a S) -> Result<Option<(Guard<'a>, Guard<'a>)>> {
        if self.done {
            return Ok(None);
        }
        let valid = match &mut self.back {
            None => {
                let c = match &self.end {
                    Bound::Included(k) => Cursor::seek_back(s, self.root, k, false)?,
                    Bound::Excluded(k) => Cursor::seek_back(s, self.root, k, true)?,
                    Bound::Unbounded => Cursor::last(s, self.root)?,
                };
                match c {
                    Some(c) => {
                        let v = c.valid();
                        self.back = Some(c);
                        v
                    }
                    None => false,
                }
            }
            Some(c) => c.retreat(s)?,
        };
        if !valid {
            self.done = true;
            return Ok(None);
        }
        let c = self.back.as_ref().expect("back cursor");
        let met = self.front.as_ref().is_some_and(|f| c.key() <= f.key());
        if met || !self.in_start(c.key()) {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(c.entry(s)?))
    }
}

// ---------------------------------------------------------------------------------------------
// Sorted batch application

/// A sorted run of operations, one per key (a flushed write buffer).
pub trait OpList {
    /// Number of operations.
    fn len(&self) -> usize;
    /// Key of operation `i` (strictly increasing in `i`).
    fn key(&self, i: usize) -> &[u8];
    /// Value to store, or `None` to remove.
    fn value(&self, i: usize) -> Option<&[u8]>;
}

/// Replacement of one node by zero or more nodes: `(separator before it, page)`; the first
/// entry's separator is `None` (it inherits the separator already in the parent).
type Replacement = Vec<(Option<Vec<u8>>, PageId)>;

/// Apply sorted `ops` to the tree at `root`; returns the new root and the change in entry count.
///
/// Each touched leaf is rebuilt once: its old cells and the operations for its key range are
/// merged and packed into as many full pages as needed; each touched branch is rebuilt once
/// from its children's replacements. Nodes left empty disappear.
pub fn apply_sorted<S: PageStore, O: OpList + ?Sized>(s: &mut S, root: PageId, ops: &O) -> Result<(PageId, i64)> {
    if ops.len() == 0 {
        return Ok((root, 0));
    }
    let mut delta = 0i64;
    let mut nodes = if root == 0 {
        let mut p = Packer::new(kind::LEAF);
        let total = merged_size(s.page_size(), None, ops, 0, ops.len());
        let cap = s.page_size() - PAGE_HEADER;
        p.target = total.div_ceil(total.div_ceil(cap).max(1));
        merge_leaf(s, None, ops, 0, ops.len(), &mut p, &mut delta)?;
        p.finish(s, 0)?
    } else {
        apply_node(s, root, ops, 0, ops.len(), 0, &mut delta)?
    };
    // Grow new levels while the top splits, then collapse single-child branches.
    while nodes.len() > 1 {
        let mut p = Packer::new(kind::BRANCH);
        let last = nodes.len() - 1;
        for (i, (_, id)) in nodes.iter().enumerate() {
            let sep = nodes.get(i + 1).and_then(|n| n.0.as_deref());
            p.push_child(s, *id, if i == last { None } else { sep })?;
        }
        nodes = p.finish(s, 0)?;
    }
    let mut root = nodes.first().map_or(0, |n| n.1);
    while root != 0 {
        let (leaf, n, only) = {
            let p = s.page(root)?;
            let node = Node::new(&p);
            (node.is_leaf(), node.len(), node.right_child())
        };
        if leaf || n > 0 {
            break;
        }
        s.free(root);
        root = only;
    }
    Ok((root, delta))
}

fn apply_node<S: PageStore, O: OpList + ?Sized>(
    s: &mut S,
    id: PageId,
    ops: &O,
    lo: usize,
    hi: usize,
    depth: usize,
    delta: &mut i64,
) -> Result<Replacement> {
    if depth >= MAX_DEPTH {
        return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
    }
    let old: Vec<u8> = {
        let p = s.page(id)?;
        check_node(&p, id)?;
        p.to_vec()
    };
    let node = Node::new(&old);
    if node.is_leaf() {
        return repack_leaves(s, &[id], &[(lo, hi)], ops, delta);
    }
    // Branch: route each run of operations to its child (no key is copied on this path); the
    // cost follows the touched children, not the branch's width.
    let n = node.len();
    let mut touched: Vec<(usize, usize, usize)> = Vec::new(); // (child, lo, hi)
    let mut j = lo;
    while j < hi {
        let c = node.child_index(ops.key(j));
        let end = if c < n { j + partition(ops, j, hi, node.key(c)) } else { hi };
        touched.push((c, j, end));
        j = end;
    }
    let leaves_below = {
        let p = s.page(node.child(touched[0].0))?;
        check_node(&p, node.child(touched[0].0))?;
        Node::new(&p).is_leaf()
    };
    // Replacements of the touched runs of children: (first child, end child, replacement).
    let mut reps: Vec<(usize, usize, Replacement)> = Vec::new();
    let mut t = 0;
    while t < touched.len() {
        let i = touched[t].0;
        // Consecutive touched leaves are repacked together.
        let mut t_end = t + 1;
        if leaves_below {
            while t_end < touched.len() && touched[t_end].0 == touched[t_end - 1].0 + 1 {
                t_end += 1;
            }
        }
        let run_end = touched[t_end - 1].0 + 1;
        let rep = if leaves_below {
            let ids: Vec<PageId> = (i..run_end).map(|c| node.child(c)).collect();
            let ranges: Vec<(usize, usize)> = touched[t..t_end].iter().map(|&(_, a, b)| (a, b)).collect();
            repack_leaves(s, &ids, &ranges, ops, delta)?
        } else {
            apply_node(s, node.child(i), ops, touched[t].1, touched[t].2, depth + 1, delta)?
        };
        if !(run_end == i + 1 && rep.len() == 1 && rep[0].1 == node.child(i)) {
            reps.push((i, run_end, rep));
        }
        t = t_end;
    }
    if reps.is_empty() {
        return Ok(alloc::vec![(None, id)]);
    }
    // Common case: each changed child became exactly one page: patch pointers in a copy.
    if reps.iter().all(|(a, b, r)| b - a == 1 && r.len() == 1) {
        let nid = s.make_mut(id)?;
        let mut m = NodeMut::new(s.get_mut(nid));
        for (a, _, r) in &reps {
            m.set_child(*a, r[0].1);
        }
        return Ok(alloc::vec![(None, nid)]);
    }
    // General case: the child list with the replacements spliced in, then repacked.
    #[derive(Clone, Copy)]
    enum Sep {
        None,
        Old(usize),
        Rep(usize, usize),
    }
    let mut out: Vec<(PageId, Sep)> = Vec::with_capacity(n + 8);
    let (mut i, mut ri) = (0, 0);
    while i <= n {
        match reps.get(ri) {
            Some((a, b, rep)) if *a == i => {
                let after = if b - 1 < n { Sep::Old(b - 1) } else { Sep::None };
                if rep.is_empty() {
                    // The run vanished with the separator on its right; at the end, the
                    // previous child becomes the last and loses its separator.
                    if matches!(after, Sep::None) {
                        if let Some(prev) = out.last_mut() {
                            prev.1 = Sep::None;
                        }
                    }
                } else {
                    for r in 0..rep.len() {
                        out.push((rep[r].1, if r + 1 < rep.len() { Sep::Rep(ri, r + 1) } else { after }));
                    }
                }
                i = *b;
                ri += 1;
            }
            _ => {
                out.push((node.child(i), if i < n { Sep::Old(i) } else { Sep::None }));
                i += 1;
            }
        }
    }
    if out.is_empty() {
        s.free(id);
        return Ok(Vec::new());
    }
    let mut p = Packer::new(kind::BRANCH);
    for (child, sep) in out {
        let key = match sep {
            Sep::None => None,
            Sep::Old(k) => Some(node.key(k)),
            Sep::Rep(run, r) => reps[run].2[r].0.as_deref(),
        };
        p.push_child(s, child, key)?;
    }
    let first = s.rewrite(id)?;
    p.finish(s, first)
}

/// Merge consecutive leaves with their operations and pack the result evenly into as few
/// pages as hold it. The first leaf's page is reused (rewritten); the others are freed. A
/// single leaf whose result fits one page is edited in place (on its private copy) instead.
fn repack_leaves<S: PageStore, O: OpList + ?Sized>(
    s: &mut S,
    leaves: &[PageId],
    ranges: &[(usize, usize)],
    ops: &O,
    delta: &mut i64,
) -> Result<Replacement> {
    let ps = s.page_size();
    let cap = ps - PAGE_HEADER;
    let mut total = 0;
    for (id, &(lo, hi)) in leaves.iter().zip(ranges) {
        let p = s.page(*id)?;
        check_node(&p, *id)?;
        let node = Node::new(&p);
        if !node.is_leaf() {
            return Err(Error::corrupted(*id, "leaf expected beside other leaves"));
        }
        total += merged_size(ps, Some(&node), ops, lo, hi);
    }
    if leaves.len() == 1 && total <= cap {
        if total == 0 {
            // Every entry is removed: release overflow runs and the page.
            let overflows: Vec<(PageId, usize)> = {
                let p = s.page(leaves[0])?;
                let node = Node::new(&p);
                *delta -= node.len() as i64;
                (0..node.len())
                    .filter_map(|i| match node.value(i) {
                        LeafValue::Overflow { page, len } => Some((page, len)),
                        LeafValue::Inline(_) => None,
                    })
                    .collect()
            };
            for (page, len) in overflows {
                s.free_overflow(page, len);
            }
            s.free(leaves[0]);
            return Ok(Vec::new());
        }
        let id = s.make_mut(leaves[0])?;
        edit_leaf_in_place(s, id, ops, ranges[0].0, ranges[0].1, delta)?;
        s.spill_point()?;
        return Ok(alloc::vec![(None, id)]);
    }
    let mut p = Packer::new(kind::LEAF);
    p.target = total.div_ceil(total.div_ceil(cap).max(1));
    let mut old = Vec::with_capacity(ps);
    for (id, &(lo, hi)) in leaves.iter().zip(ranges) {
        old.clear();
        old.extend_from_slice(&s.page(*id)?);
        merge_leaf(s, Some(&Node::new(&old)), ops, lo, hi, &mut p, delta)?;
    }
    for id in &leaves[1..] {
        s.free(*id);
    }
    let first = s.rewrite(leaves[0])?;
    let rep = p.finish(s, first)?;
    s.spill_point()?;
    Ok(rep)
}

/// Apply `ops[lo..hi]` to private leaf `id` cell by cell; the caller checked that the result
/// fits. Removals (including the old cells of replaced keys) go first, so the page only grows
/// toward its final size and never overflows midway.
fn edit_leaf_in_place<S: PageStore, O: OpList + ?Sized>(
    s: &mut S,
    id: PageId,
    ops: &O,
    lo: usize,
    hi: usize,
    delta: &mut i64,
) -> Result<()> {
    let mut existed = Vec::with_capacity(hi - lo);
    for j in lo..hi {
        let (pos, old_overflow) = {
            let node = Node::new(s.get_mut(id));
            let pos = node.search(ops.key(j));
            let ov = match pos {
                Ok(i) => match node.value(i) {
                    LeafValue::Overflow { page, len } => Some((page, len)),
                    LeafValue::Inline(_) => None,
                },
                Err(_) => None,
            };
            (pos, ov)
        };
        if let Some((page, len)) = old_overflow {
            s.free_overflow(page, len);
        }
        if let Ok(i) = pos {
            NodeMut::new(s.get_mut(id)).remove_cell(i);
        }
        existed.push(pos.is_ok());
    }
    let mut cell = Vec::new();
    for (j, existed) in (lo..hi).zip(existed) {
        let Some(v) = ops.value(j) else {
            *delta -= i64::from(existed);
            continue;
        };
        *delta += i64::from(!existed);
        let key = ops.key(j);
        make_leaf_cell(s, key, v, &mut cell)?;
        let mut m = NodeMut::new(s.get_mut(id));
        let at = m.node().search(key).unwrap_or_else(|i| i);
        if !m.insert_cell(at, &cell) {
            return Err(Error::corrupted(id, "in-place leaf edit overflowed the page"));
        }
    }
    Ok(())
}

/// Number of operations in `lo..hi` with keys below `bound`.
fn partition<O: OpList + ?Sized>(ops: &O, lo: usize, hi: usize, bound: &[u8]) -> usize {
    let (mut a, mut b) = (lo, hi);
    while a < b {
        let m = (a + b) / 2;
        if ops.key(m) < bound {
            a = m + 1;
        } else {
            b = m;
        }
    }
    a - lo
}

/// One step of merging a leaf's cells with sorted operations: the leaf's cell `old` alone,
/// or the operation `op` (on the cell `old` with the same key, if there is one).
#[derive(Clone, Copy)]
struct MergeStep {
    old: Option<usize>,
    op: Option<usize>,
}

/// Walks a leaf's cells (if any) and `ops[lo..hi]` together in key order.
struct MergeWalk<'n, 'o, O: OpList + ?Sized> {
    node: Option<&'n Node<'n>>,
    ops: &'o O,
    i: usize,
    n: usize,
    j: usize,
    hi: usize,
}

impl<'n, 'o, O: OpList + ?Sized> MergeWalk<'n, 'o, O> {
    fn new(node: Option<&'n Node<'n>>, ops: &'o O, lo: usize, hi: usize) -> Self {
        MergeWalk { node, ops, i: 0, n: node.map_or(0, |n| n.len()), j: lo, hi }
    }
}

impl<O: OpList + ?Sized> Iterator for MergeWalk<'_, '_, O> {
    type Item = MergeStep;
    fn next(&mut self) -> Option<MergeStep> {
        use core::cmp::Ordering;
        let ord = match (self.i < self.n, self.j < self.hi) {
            (false, false) => return None,
            (true, true) => self.node.expect("node").key(self.i).cmp(self.ops.key(self.j)),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
        };
        let step = match ord {
            Ordering::Less => MergeStep { old: Some(self.i), op: None },
            Ordering::Equal => MergeStep { old: Some(self.i), op: Some(self.j) },
            Ordering::Greater => MergeStep { old: None, op: Some(self.j) },
        };
        self.i += usize::from(step.old.is_some());
        self.j += usize::from(step.op.is_some());
        Some(step)
    }
}

/// Bytes the merge of a leaf's cells with `ops[lo..hi]` will occupy (cells plus slots).
fn merged_size<O: OpList + ?Sized>(ps: usize, node: Option<&Node<'_>>, ops: &O, lo: usize, hi: usize) -> usize {
    let new_cell = |j: usize| {
        ops.value(j).map_or(0, |v| {
            let k = ops.key(j).len();
            let inline = leaf_cell_len(k, v.len(), false);
            SLOT_SIZE + if inline <= max_inline_cell(ps) { inline } else { leaf_cell_len(k, v.len(), true) }
        })
    };
    MergeWalk::new(node, ops, lo, hi)
        .map(|step| match (step.old, step.op) {
            (_, Some(j)) => new_cell(j),
            (Some(i), None) => SLOT_SIZE + node.expect("node").cell(i).len(),
            (None, None) => 0,
        })
        .sum()
}

/// Merge a leaf's cells (if any) with `ops[lo..hi]` into the packer.
fn merge_leaf<S: PageStore, O: OpList + ?Sized>(
    s: &mut S,
    node: Option<&Node<'_>>,
    ops: &O,
    lo: usize,
    hi: usize,
    p: &mut Packer,
    delta: &mut i64,
) -> Result<()> {
    let mut cell = Vec::new();
    for step in MergeWalk::new(node, ops, lo, hi) {
        let Some(j) = step.op else {
            p.push_cell(s, node.expect("node").cell(step.old.expect("old cell")))?;
            continue;
        };
        if let Some(i) = step.old {
            if let LeafValue::Overflow { page, len } = node.expect("node").value(i) {
                s.free_overflow(page, len);
            }
        }
        let existed = step.old.is_some();
        match ops.value(j) {
            Some(v) => {
                make_leaf_cell(s, ops.key(j), v, &mut cell)?;
                p.push_cell(s, &cell)?;
                *delta += i64::from(!existed);
            }
            None => *delta -= i64::from(existed),
        }
    }
    Ok(())
}

/// Packs cells in key order into consecutive fresh pages.
struct Packer {
    kind: u8,
    /// Finished and current pages with the separator before each (first: None).
    pages: Replacement,
    /// The page being filled: its first id is decided at `finish` for the first page.
    cur: Option<PageId>,
    cur_cells: usize,
    last_key: Vec<u8>,
    /// Branch packing: the last child pushed and its separator, placed once the next child
    /// shows whether the separator stays on this page or moves up.
    pending_child: Option<PageId>,
    pending_key: Vec<u8>,
    scratch: Vec<u8>,
    first_buf: Option<Vec<u8>>,
    /// Bytes (cells + slots) to put on each page before starting the next (leaves).
    target: usize,
    cur_bytes: usize,
}

impl Packer {
    fn new(kind: u8) -> Self {
        Packer {
            kind,
            pages: Vec::new(),
            cur: None,
            cur_cells: 0,
            last_key: Vec::new(),
            pending_child: None,
            pending_key: Vec::new(),
            scratch: Vec::new(),
            first_buf: None,
            target: usize::MAX,
            cur_bytes: 0,
        }
    }

    /// Bytes of the page being filled: the first page is staged in memory until `finish`
    /// knows which id it takes (the node's own, rewritten); later pages are allocated.
    fn page<'a, S: PageStore>(&'a mut self, s: &'a mut S) -> &'a mut [u8] {
        match self.cur {
            Some(id) => s.get_mut(id),
            None => self.first_buf.as_mut().expect("first page buffer"),
        }
    }

    fn start_page<S: PageStore>(&mut self, s: &mut S, sep: Option<Vec<u8>>) -> Result<()> {
        let ps = s.page_size();
        if self.first_buf.is_none() && self.pages.is_empty() && self.cur.is_none() {
            self.first_buf = Some(alloc::vec![0u8; ps]);
            NodeMut::new(self.first_buf.as_mut().expect("buffer")).init(self.kind, 0);
            self.pages.push((None, 0));
        } else {
            let id = s.alloc()?;
            NodeMut::new(s.get_mut(id)).init(self.kind, id);
            self.cur = Some(id);
            self.pages.push((sep, id));
        }
        self.cur_cells = 0;
        self.cur_bytes = 0;
        Ok(())
    }

    fn push_cell<S: PageStore>(&mut self, s: &mut S, cell: &[u8]) -> Result<()> {
        if self.pages.is_empty() {
            self.start_page(s, None)?;
        }
        let key = leaf_cell_key(cell);
        let cost = cell.len() + SLOT_SIZE;
        // Move on once a page has reached the target fill (so the planned number of pages
        // always suffices), or when the cell does not fit.
        let at_target = self.cur_cells > 0 && self.cur_bytes >= self.target;
        if at_target || !NodeMut::new(self.page(s)).push_cell(cell) {
            let sep = shortest_separator(&self.last_key, key);
            self.start_page(s, Some(sep))?;
            if !NodeMut::new(self.page(s)).push_cell(cell) {
                return Err(Error::corrupted(0, "cell larger than a page"));
            }
        }
        self.cur_cells += 1;
        self.cur_bytes += cost;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        Ok(())
    }

    /// Branch packing: append child `child` followed by separator `sep` (`None` for the last).
    fn push_child<S: PageStore>(&mut self, s: &mut S, child: PageId, sep: Option<&[u8]>) -> Result<()> {
        if self.pages.is_empty() {
            self.start_page(s, None)?;
        }
        // A child waits until we know whether its separator fits on this page.
        if let Some(prev) = self.pending_child.take() {
            let mut c = core::mem::take(&mut self.scratch);
            encode_branch_cell(&mut c, prev, &self.pending_key);
            let fits = NodeMut::new(self.page(s)).push_cell(&c);
            self.scratch = c;
            if !fits {
                // Close the page with `prev` as its right child; its separator moves up.
                NodeMut::new(self.page(s)).set_right_child(prev);
                let up = self.pending_key.clone();
                self.start_page(s, Some(up))?;
            }
        }
        self.pending_child = Some(child);
        self.pending_key.clear();
        if let Some(k) = sep {
            self.pending_key.extend_from_slice(k);
        }
        Ok(())
    }

    /// Finish: the first page takes id `first` (0: allocate). Returns the replacement list.
    fn finish<S: PageStore>(mut self, s: &mut S, first: PageId) -> Result<Replacement> {
        if let Some(child) = self.pending_child.take() {
            NodeMut::new(self.page(s)).set_right_child(child);
        }
        let Some(buf) = self.first_buf.take() else {
            if first != 0 {
                s.free(first);
            }
            return Ok(Vec::new());
        };
        let id = if first == 0 { s.alloc()? } else { first };
        let dst = s.get_mut(id);
        dst.copy_from_slice(&buf);
        crate::engine::format::put_u64(dst, 8, id);
        self.pages[0].1 = id;
        Ok(self.pages)
    }
}
