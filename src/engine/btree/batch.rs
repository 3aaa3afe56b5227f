//! Sorted batch application: a run of operations sorted by key ([`OpList`], a flushed write
//! buffer or a delta run) applied to a tree in one pass, each touched leaf rebuilt once and
//! packed full.

use super::tree::*;
use crate::engine::format::{kind, PAGE_HEADER};
use crate::engine::page::PageId;
use crate::engine::page::{encode_branch_cell, leaf_cell_key, leaf_cell_len, LeafValue, Node, NodeMut, SLOT_SIZE};
use crate::error::{Error, Result};
use alloc::vec::Vec;

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
        s.early_write_point()?;
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
    s.early_write_point()?;
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
        crate::engine::format::put_u64(dst, crate::engine::format::at::OWN_REF, id);
        self.pages[0].1 = id;
        Ok(self.pages)
    }
}
