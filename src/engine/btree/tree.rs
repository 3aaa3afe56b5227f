//! Lookups and single-key edits: the page access traits ([`PageSource`], [`PageStore`]),
//! `get`, `insert` (with splits), `remove` (with merges) and `free_tree`.

use crate::engine::format::{at, get_u64, kind, PAGE_HEADER};
use crate::engine::page::{
    encode_branch_cell, encode_leaf_cell, encode_overflow_cell, leaf_cell_key, leaf_cell_len, LeafValue, Node, NodeMut,
    BRANCH_CELL_HEADER, SLOT_SIZE,
};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::error::{Error, Result};
use alloc::vec::Vec;

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
    fn early_write_point(&mut self) -> Result<()>;
}

/// Largest inline leaf cell for a page size: a leaf always holds at least four.
#[inline]
pub fn max_inline_cell(page_size: usize) -> usize {
    (page_size - PAGE_HEADER) / 4 - SLOT_SIZE
}

#[inline(always)]
pub(super) fn check_node(page: &[u8], id: PageId) -> Result<()> {
    match page[at::KIND] {
        kind::LEAF | kind::BRANCH => Ok(()),
        k => Err(not_a_node(id, k)),
    }
}

/// The error of [`check_node`], out of line so the check itself inlines to one comparison.
#[cold]
#[inline(never)]
pub(super) fn not_a_node(id: PageId, k: u8) -> Error {
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
pub(super) fn check_bounds(parent: &Node<'_>, ci: usize, child: &Node<'_>, id: PageId) -> Result<()> {
    let n = child.len();
    if n > 0
        && ((ci > 0 && child.key(0) < parent.key(ci - 1)) || (ci < parent.len() && child.key(n - 1) >= parent.key(ci)))
    {
        return Err(Error::corrupted(id, "page keys outside its parent's separators (a stale or misplaced page)"));
    }
    Ok(())
}

/// The value of leaf cell `i` of `page` as a guard.
pub(super) fn leaf_value<'a, S: PageSource>(s: &'a S, page: &PageRef<'a>, i: usize) -> Result<Guard<'a>> {
    let node = Node::new(page);
    match node.value(i) {
        LeafValue::Inline(v) => {
            let start = v.as_ptr() as usize - page.as_ptr() as usize;
            Ok(page.guard(start, v.len()))
        }
        LeafValue::Overflow { page: first, len } => s.overflow(first, len),
    }
}

#[inline]
pub(super) fn key_guard<'a>(page: &PageRef<'a>, i: usize) -> Guard<'a> {
    let k = Node::new(page).key(i);
    let start = k.as_ptr() as usize - page.as_ptr() as usize;
    page.guard(start, k.len())
}

/// Encode the leaf cell for `key`/`value`, moving a large value to an overflow run.
pub(super) fn make_leaf_cell<S: PageStore>(s: &mut S, key: &[u8], value: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if leaf_cell_len(key.len(), value.len(), false) <= max_inline_cell(s.page_size()) {
        encode_leaf_cell(out, key, value);
    } else {
        let first = s.write_overflow(value)?;
        encode_overflow_cell(out, key, first, value.len());
    }
    Ok(())
}

pub(super) struct Ins {
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

pub(super) fn insert_rec<S: PageStore>(s: &mut S, id: PageId, key: &[u8], cell: &[u8], depth: usize) -> Result<Ins> {
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
pub(super) fn split<S: PageStore>(
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
pub(super) fn build<S: PageStore>(s: &mut S, id: PageId, k: u8, cells: &[Vec<u8>], right: PageId) -> Result<()> {
    let mut n = NodeMut::new(s.get_mut(id));
    n.init(k, id);
    for c in cells {
        if !n.push_cell(c) {
            return Err(Error::corrupted(id, "split produced an overfull node"));
        }
    }
    n.set_right_child(right);
    debug_assert!(
        (1..n.node().len()).all(|i| n.node().key(i - 1) < n.node().key(i)),
        "a rebuilt node keeps its keys in order"
    );
    Ok(())
}

/// The shortest key `k` with `left < k <= right` (a prefix of `right`).
pub fn shortest_separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right[..(common + 1).min(right.len())].to_vec()
}

pub(super) struct Rem {
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

pub(super) fn remove_rec<S: PageStore>(s: &mut S, id: PageId, key: &[u8], depth: usize) -> Result<Option<Rem>> {
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
pub(super) fn try_merge<S: PageStore>(s: &mut S, parent: PageId, ci: usize) -> Result<()> {
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
