//! Cursors: a position in a tree (the path from the root to a leaf slot), stepping both ways
//! across leaves with prefetching, and `RangeState`, the bounded forward/backward range scan
//! built on two cursors.

use super::tree::*;
use crate::engine::page::Node;
use crate::engine::page::{Guard, PageId, PageRef};
use crate::error::{Error, Result};
use alloc::vec::Vec;
use core::ops::Bound;

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
        crate::engine::format::get_u64(page, crate::engine::format::at::OWN_REF),
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
