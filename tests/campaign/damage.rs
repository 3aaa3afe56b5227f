//! The six kinds of damage, each applied to a copy of a clean image and described.

use super::judge::Base;
use super::layout::*;
use crate::common::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Flip,
    Zero,
    Truncate,
    Extend,
    Stale,
    Craft,
}

impl Class {
    pub fn tag(self) -> &'static str {
        match self {
            Class::Flip => "flip",
            Class::Zero => "zero",
            Class::Truncate => "truncate",
            Class::Extend => "extend",
            Class::Stale => "stale",
            Class::Craft => "craft",
        }
    }

    /// Damage the format is designed to detect (checksums, stamps, lengths).
    pub fn detectable(self) -> bool {
        matches!(self, Class::Flip | Class::Zero | Class::Truncate | Class::Extend)
    }
}

pub struct Damage {
    /// The row of the outcome table.
    pub kind: String,
    /// Where the damage starts (a row of the region table).
    pub region: &'static str,
    pub image: Vec<u8>,
    /// Byte ranges of the clean image that were changed, zeroed or cut off.
    pub changed: Vec<(usize, usize)>,
    pub what: String,
}

fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

fn pick<'a, T>(rng: &mut Rng, v: &'a [T]) -> &'a T {
    &v[below(rng, v.len())]
}

pub fn make(class: Class, base: &Base, rng: &mut Rng) -> Damage {
    let mut d = match class {
        Class::Flip => flip(base, rng),
        Class::Zero => zero(base, rng),
        Class::Truncate => truncate(base, rng),
        Class::Extend => extend(base, rng),
        Class::Stale => stale(base, rng),
        Class::Craft => craft(base, rng),
    };
    d.region = d.changed.iter().map(|r| r.0).min().map_or("", |o| base.map.region(o));
    d
}

/// An offset: mostly uniform over the file, sometimes inside the current log's frames or the
/// first sectors of page 0 (header and commit slots), which are small but matter most.
fn offset(base: &Base, rng: &mut Rng) -> usize {
    let map = &base.map;
    match below(rng, 100) {
        0..70 => below(rng, base.image.len()),
        70..85 if !map.frames.is_empty() => {
            let f = pick(rng, &map.frames);
            f.at + below(rng, f.len)
        }
        _ => below(rng, SLOT_COPIES[3] + SLOT_LEN),
    }
}

fn flip(base: &Base, rng: &mut Rng) -> Damage {
    let mut img = base.image.clone();
    let (kind, offsets) = if rng.below(2) == 0 {
        ("flip 1 bit", vec![offset(base, rng)])
    } else {
        let n = 2 + below(rng, 5);
        let offs = if rng.below(2) == 0 {
            (0..n).map(|_| offset(base, rng)).collect()
        } else {
            // A burst inside one sector.
            let s = offset(base, rng) / SECTOR * SECTOR;
            (0..n).map(|_| (s + below(rng, SECTOR)).min(img.len() - 1)).collect()
        };
        ("flip 2-6 bits", offs)
    };
    let mut what = Vec::new();
    for &o in &offsets {
        let bit = below(rng, 8);
        img[o] ^= 1 << bit;
        what.push(format!("bit {bit} of {}", base.map.describe(o)));
    }
    Damage {
        region: "",
        kind: kind.into(),
        image: img,
        changed: offsets.iter().map(|&o| (o, o + 1)).collect(),
        what: what.join("; "),
    }
}

fn zero(base: &Base, rng: &mut Rng) -> Damage {
    let mut img = base.image.clone();
    let ps = base.map.ps;
    let (kind, from, to) = if rng.below(2) == 0 {
        let s = offset(base, rng) / SECTOR * SECTOR;
        ("zero sector", s, s + SECTOR)
    } else {
        let p = if rng.below(10) < 6 || base.map.frames.is_empty() {
            below(rng, base.map.pages())
        } else {
            pick(rng, &base.map.frames).at / ps
        };
        ("zero page", p * ps, (p + 1) * ps)
    };
    let was_zero = img[from..to].iter().all(|&b| b == 0);
    img[from..to].fill(0);
    let what = format!(
        "bytes {from}..{to} zeroed{}: from {}",
        if was_zero { " (they were zero already)" } else { "" },
        base.map.describe(from)
    );
    Damage { region: "", kind: kind.into(), image: img, changed: vec![(from, to)], what }
}

fn truncate(base: &Base, rng: &mut Rng) -> Damage {
    let len = base.image.len();
    let ps = base.map.ps;
    // Never to 0 bytes: an empty file is a new database by design (the file is gone, not
    // damaged).
    let (kind, cut) = if rng.below(2) == 0 {
        let cut = if rng.below(10) < 3 && !base.map.frames.is_empty() {
            let f = pick(rng, &base.map.frames);
            f.at + below(rng, f.len)
        } else {
            1 + below(rng, len - 1)
        };
        ("truncate anywhere", cut.max(1))
    } else {
        ("truncate at a page", ps * (1 + below(rng, len / ps - 1)))
    };
    let what = format!("cut to {cut} of {len} bytes, at {}", base.map.describe(cut));
    Damage { region: "", kind: kind.into(), image: base.image[..cut].to_vec(), changed: vec![(cut, len)], what }
}

fn extend(base: &Base, rng: &mut Rng) -> Damage {
    let len = base.image.len();
    let ps = base.map.ps;
    let n = if rng.below(2) == 0 { 1 + below(rng, 3 * ps) } else { ps * (1 + below(rng, 4)) };
    let mut img = base.image.clone();
    let garbage = rng.below(2) == 0;
    if garbage {
        img.extend((0..n).map(|_| rng.next_u64() as u8));
    } else {
        img.resize(len + n, 0);
    }
    let kind = if garbage { "extend garbage" } else { "extend zeros" };
    Damage {
        region: "",
        kind: kind.into(),
        image: img,
        changed: vec![(len, len + n)],
        what: format!("{n} bytes appended"),
    }
}

fn stale(base: &Base, rng: &mut Rng) -> Damage {
    let ps = base.map.ps;
    for _ in 0..100 {
        let (label, old) = pick(rng, &base.snapshots);
        let new = &base.image;
        let unit = match below(rng, 100) {
            0..15 => None,
            15..40 => Some(SECTOR),
            _ => Some(ps),
        };
        let (kind, from, to) = if let Some(unit) = unit {
            let n = old.len().min(new.len()) / unit;
            let differ: Vec<usize> =
                (0..n).filter(|&i| old[i * unit..(i + 1) * unit] != new[i * unit..(i + 1) * unit]).collect();
            if differ.is_empty() {
                continue;
            }
            let i = *pick(rng, &differ);
            (if unit == SECTOR { "stale sector" } else { "stale page" }, i * unit, (i + 1) * unit)
        } else {
            ("stale page 0", 0, ps)
        };
        if old[from..to] == new[from..to] {
            continue;
        }
        let mut img = new.clone();
        img[from..to].copy_from_slice(&old[from..to]);
        let what = format!(
            "bytes {from}..{to} ({}) replaced by their image {label} (then a page of kind {})",
            base.map.describe(from),
            old[from / ps * ps]
        );
        return Damage { region: "", kind: kind.into(), image: img, changed: vec![(from, to)], what };
    }
    panic!("no snapshot differs from the final image");
}

// ---------------------------------------------------------------------------------------------
// Crafted damage: bytes changed and the checksums made valid again.
// ---------------------------------------------------------------------------------------------

const TARGETS: [&str; 15] = [
    "leaf value",
    "sql schema record",
    "leaf key",
    "leaf slot",
    "page header",
    "leaf value ref",
    "branch child",
    "branch key",
    "catalog entry",
    "overflow run",
    "free list",
    "commit slot",
    "log payload",
    "log header",
    "file header",
];

struct Crafter<'a> {
    base: &'a Base,
    img: Vec<u8>,
    changed: Vec<(usize, usize)>,
}

impl Crafter<'_> {
    fn ps(&self) -> usize {
        self.base.map.ps
    }
    fn page(&mut self, p: usize) -> &mut [u8] {
        let ps = self.ps();
        self.changed.push((p * ps, (p + 1) * ps));
        &mut self.img[p * ps..(p + 1) * ps]
    }
    fn leaves(&self, catalog: bool) -> Vec<usize> {
        self.base.map.pages_where(|r| matches!(r, Role::Leaf(t) if (t == CATALOG) == catalog))
    }
    fn branches(&self) -> Vec<usize> {
        self.base.map.pages_where(|r| matches!(r, Role::Branch(_)))
    }
    fn tree_pages(&self) -> Vec<usize> {
        self.base.map.pages_where(|r| matches!(r, Role::Leaf(_) | Role::Branch(_)))
    }
}

fn role(base: &Base, p: usize) -> String {
    base.map.roles[p].short()
}

/// The slot index whose cell starts at `off`.
fn slot_of(page: &[u8], off: usize) -> Option<usize> {
    (0..get_u16(page, 2) as usize).find(|&i| get_u16(page, PAGE_HEADER + 6 * i) as usize == off)
}

fn set_head(page: &mut [u8], slot: usize, key: (usize, usize)) {
    let mut h = [0u8; 4];
    let k = &page[key.0..key.1];
    let n = k.len().min(4);
    h[..n].copy_from_slice(&k[..n]);
    let head = u32::from_be_bytes(h);
    put_u32(page, PAGE_HEADER + 6 * slot + 2, head);
}

/// `TESSERA_CAMPAIGN_CRAFT=<target>` (e.g. "sql schema record") crafts only that target.
fn craft(base: &Base, rng: &mut Rng) -> Damage {
    let only = std::env::var("TESSERA_CAMPAIGN_CRAFT").ok();
    for _ in 0..200 {
        let target = *pick(rng, &TARGETS);
        if only.as_ref().is_some_and(|o| o != target) {
            continue;
        }
        let mut c = Crafter { base, img: base.image.clone(), changed: Vec::new() };
        if let Some(what) = craft_one(&mut c, target, rng) {
            return Damage { region: "", kind: format!("crafted {target}"), image: c.img, changed: c.changed, what };
        }
    }
    panic!("nothing to craft");
}

/// Apply one crafted change; `None` if the file has no instance of the target.
fn craft_one(c: &mut Crafter<'_>, target: &str, rng: &mut Rng) -> Option<String> {
    let base = c.base;
    let map = &base.map;
    let ps = c.ps();
    match target {
        "leaf value" | "leaf key" | "leaf slot" | "leaf value ref" => {
            let leaves = c.leaves(false);
            let p = *pick(rng, &leaves);
            let cells = leaf_cells(&c.img[p * ps..(p + 1) * ps]);
            let cell = pick(rng, &cells).clone();
            let page = c.page(p);
            let slot = slot_of(page, cell.off)?;
            let what = match target {
                "leaf value" => {
                    if cell.overflow || cell.value.0 == cell.value.1 {
                        return None;
                    }
                    let at = cell.value.0 + below(rng, cell.value.1 - cell.value.0);
                    page[at] ^= 1 + below(rng, 255) as u8;
                    format!("byte {} of an inline value", at - cell.value.0)
                }
                "leaf key" => {
                    if cell.key.0 == cell.key.1 {
                        return None;
                    }
                    let at = cell.key.0 + below(rng, cell.key.1 - cell.key.0);
                    page[at] ^= 1 + below(rng, 255) as u8;
                    let fix = rng.below(2) == 0;
                    if fix {
                        set_head(page, slot, cell.key);
                    }
                    format!("byte {} of a key{}", at - cell.key.0, if fix { ", slot key head updated" } else { "" })
                }
                "leaf slot" => {
                    let n = get_u16(page, 2) as usize;
                    match below(rng, 3) {
                        0 if n > 1 => {
                            let other = (slot + 1 + below(rng, n - 1)) % n;
                            let (a, b) = (PAGE_HEADER + 6 * slot, PAGE_HEADER + 6 * other);
                            for i in 0..6 {
                                page.swap(a + i, b + i);
                            }
                            format!("slots {slot} and {other} swapped")
                        }
                        1 => {
                            let off = get_u16(page, PAGE_HEADER + 6 * slot) as i64;
                            let d = [-1i64, 1, -8, 8, 100][below(rng, 5)];
                            put_u16(page, PAGE_HEADER + 6 * slot, (off + d).clamp(0, 65535) as u16);
                            format!("slot {slot}'s cell offset moved by {d}")
                        }
                        _ => {
                            let at = PAGE_HEADER + 6 * slot + 2 + below(rng, 4);
                            page[at] ^= 1 + below(rng, 255) as u8;
                            format!("slot {slot}'s key head changed")
                        }
                    }
                }
                _ => {
                    // The value reference: its length, or the overflow run it names.
                    if cell.overflow && rng.below(2) == 0 {
                        let others: Vec<&Run> =
                            map.runs.iter().filter(|r| r.first != no(get_u64(page, cell.value.0))).collect();
                        // (References as a writer would make them: the target's own.)
                        let to = match below(rng, 3) {
                            0 if !others.is_empty() => ref_of(&base.image, ps, pick(rng, &others).first),
                            1 => ref_of(&base.image, ps, below(rng, map.pages()) as u64),
                            _ => get_u64(page, cell.value.0) + 1,
                        };
                        put_u64(page, cell.value.0, to);
                        format!("an overflow reference now names page {to}")
                    } else {
                        let (vtag, n) = varint(page, cell.vtag_at)?;
                        let new = match below(rng, 3) {
                            0 => vtag + 2,
                            1 => vtag.saturating_sub(2),
                            _ => vtag ^ 1,
                        };
                        if new == vtag || varint_len(new) != n {
                            return None;
                        }
                        put_varint(page, cell.vtag_at, new, n);
                        format!(
                            "a value tag changed from {vtag} to {new} (length {} to {}, overflow {} to {})",
                            vtag >> 1,
                            new >> 1,
                            vtag & 1,
                            new & 1
                        )
                    }
                }
            };
            reseal(page);
            Some(format!("page {p} ({}): {what}; resealed", role(base, p)))
        }
        "sql schema record" => {
            // A byte of an SQL schema record (an object's kind, name, storage id, SQL text,
            // index column positions): only the SQL file has one.
            let leaves = map.pages_where(|r| matches!(r, Role::Leaf(t) if t == "sql:schema"));
            if leaves.is_empty() {
                return None;
            }
            let p = *pick(rng, &leaves);
            let cells = leaf_cells(&c.img[p * ps..(p + 1) * ps]);
            let cell = pick(rng, &cells).clone();
            if cell.overflow || cell.value.0 == cell.value.1 {
                return None;
            }
            let page = c.page(p);
            let key = String::from_utf8_lossy(&page[cell.key.0..cell.key.1]).into_owned();
            let i = below(rng, cell.value.1 - cell.value.0);
            let old = page[cell.value.0 + i];
            let new = match below(rng, 3) {
                0 => old ^ (1 << below(rng, 8)),
                1 => old.wrapping_add(1),
                _ => below(rng, 256) as u8,
            };
            if new == old {
                return None;
            }
            page[cell.value.0 + i] = new;
            reseal(page);
            Some(format!("page {p} (schema leaf): record {key:?}, byte {i}: {old:#04x} -> {new:#04x}; resealed"))
        }
        "page header" => {
            let pages = c.tree_pages();
            let p = *pick(rng, &pages);
            let page = c.page(p);
            let what = match below(rng, 5) {
                0 => {
                    page[0] = if page[0] == 1 { 2 } else { 1 };
                    format!("kind set to {}", page[0])
                }
                1 => {
                    let n = get_u16(page, 2);
                    let new = if rng.below(2) == 0 { n.wrapping_add(1) } else { n.saturating_sub(1) };
                    put_u16(page, 2, new);
                    format!("slot count {n} -> {new}")
                }
                2 => {
                    let v = get_u32(page, 16);
                    let new = [v.wrapping_add(1), v.wrapping_sub(6), 32, ps as u32][below(rng, 4)];
                    put_u32(page, 16, new);
                    format!("cells_start {v} -> {new}")
                }
                3 => {
                    let v = get_u32(page, 20);
                    put_u32(page, 20, v + 1 + below(rng, 64) as u32);
                    "garbage count raised".into()
                }
                _ => {
                    let id = get_u64(page, 8);
                    // Another page number, the same version tag.
                    let new = (id & !((1 << 40) - 1)) | below(rng, map.pages()) as u64;
                    put_u64(page, 8, new);
                    format!("page id {id} -> {new}")
                }
            };
            reseal(page);
            Some(format!("page {p} ({}): {what}; resealed", role(base, p)))
        }
        "branch child" => {
            let branches = c.branches();
            if branches.is_empty() {
                return None;
            }
            let p = *pick(rng, &branches);
            let tree = match &map.roles[p] {
                Role::Branch(t) => t.clone(),
                _ => unreachable!(),
            };
            let same_tree = map.pages_where(|r| matches!(r, Role::Leaf(t) | Role::Branch(t) if *t == tree));
            let other_tree = map.pages_where(|r| matches!(r, Role::Leaf(t) | Role::Branch(t) if *t != tree));
            let root = map.tables.iter().find(|t| t.0 == tree).map(|t| t.1).unwrap_or(map.slot.catalog_root);
            let children = branch_children(&c.img[p * ps..(p + 1) * ps]);
            let (at, old) = *pick(rng, &children);
            // Free and unreached pages hold older tree pages: valid checksums, their own ids.
            let stale: Vec<usize> = map
                .pages_where(|r| matches!(r, Role::Free | Role::Unreached))
                .into_iter()
                .filter(|&q| matches!(base.image[q * ps], 1 | 2))
                .collect();
            let (to, why): (u64, &str) = match below(rng, 8) {
                7 if !stale.is_empty() => (*pick(rng, &stale) as u64, "a free page holding an older tree page"),
                0 => (pick(rng, &children).1, "a sibling child of the same page"),
                1 => (*pick(rng, &same_tree) as u64, "another page of the same tree"),
                2 => (p as u64, "the page itself (a cycle)"),
                3 => (root, "the tree's root (a cycle)"),
                4 if !other_tree.is_empty() => (*pick(rng, &other_tree) as u64, "a page of another tree"),
                5 => (0, "page 0"),
                _ => (map.pages() as u64 + below(rng, 100) as u64, "a page past the end"),
            };
            if to == old {
                return None;
            }
            let to = ref_of(&base.image, ps, to);
            let page = c.page(p);
            put_u64(page, at, to);
            reseal(page);
            Some(format!("page {p} ({}): child pointer {old} -> {to} ({why}); resealed", role(base, p)))
        }
        "branch key" => {
            let branches = c.branches();
            if branches.is_empty() {
                return None;
            }
            let p = *pick(rng, &branches);
            let page = c.page(p);
            let n = get_u16(page, 2) as usize;
            if n == 0 {
                return None;
            }
            let slot = below(rng, n);
            let off = get_u16(page, PAGE_HEADER + 6 * slot) as usize;
            let klen = get_u16(page, off + 8) as usize;
            if klen == 0 {
                return None;
            }
            let key = (off + 10, off + 10 + klen);
            page[key.0 + below(rng, klen)] ^= 1 + below(rng, 255) as u8;
            let fix = rng.below(2) == 0;
            if fix {
                set_head(page, slot, key);
            }
            reseal(page);
            Some(format!(
                "page {p} ({}): separator {slot} changed{}; resealed",
                role(base, p),
                if fix { ", slot key head updated" } else { "" }
            ))
        }
        "catalog entry" => {
            let leaves = c.leaves(true);
            let p = *pick(rng, &leaves);
            let cells = leaf_cells(&c.img[p * ps..(p + 1) * ps]);
            let cell = pick(rng, &cells).clone();
            if cell.value.1 - cell.value.0 != 16 {
                return None;
            }
            let tree_pages = c.tree_pages();
            let stale: Vec<usize> = map
                .pages_where(|r| matches!(r, Role::Free | Role::Unreached))
                .into_iter()
                .filter(|&q| matches!(base.image[q * ps], 1 | 2))
                .collect();
            let page = c.page(p);
            let name = String::from_utf8_lossy(&page[cell.key.0..cell.key.1]).into_owned();
            let (root, count) = (get_u64(page, cell.value.0), get_u64(page, cell.value.0 + 8));
            let what = match below(rng, 5) {
                4 if !stale.is_empty() => {
                    let to = ref_of(&base.image, ps, *pick(rng, &stale) as u64);
                    put_u64(page, cell.value.0, to);
                    format!("root {root} -> {to} (a free page holding an older tree page)")
                }
                0 => {
                    let to = ref_of(&base.image, ps, *pick(rng, &tree_pages) as u64);
                    put_u64(page, cell.value.0, to);
                    format!("root {root} -> {to}")
                }
                1 => {
                    put_u64(page, cell.value.0, 0);
                    format!("root {root} -> 0 (empty)")
                }
                2 => {
                    put_u64(page, cell.value.0 + 8, count + 1);
                    format!("count {count} -> {}", count + 1)
                }
                _ => {
                    put_u64(page, cell.value.0 + 8, count.saturating_sub(1 + below(rng, 10) as u64));
                    "count lowered".into()
                }
            };
            reseal(page);
            Some(format!("page {p} (catalog leaf): entry of table {name:?}: {what}; resealed"))
        }
        "overflow run" => {
            let run = pick(rng, &map.runs).clone();
            let at = run.first as usize * ps;
            c.changed.push((at, at + run.pages as usize * ps));
            let what = match below(rng, 4) {
                0 | 1 => {
                    let i = below(rng, run.len.max(1) as usize);
                    c.img[at + PAGE_HEADER + i] ^= 1 + below(rng, 255) as u8;
                    format!("value byte {i}")
                }
                2 => {
                    let new = run.len + 1 + below(rng, 100) as u64;
                    put_u64(&mut c.img, at + 16, new);
                    format!("length field {} -> {new}", run.len)
                }
                _ => {
                    put_u64(&mut c.img, at + 24, run.pages + 1);
                    "pages field + 1".into()
                }
            };
            if get_u64(&c.img, at + 16) as usize + at + PAGE_HEADER > c.img.len() {
                return None;
            }
            reseal_overflow(&mut c.img, at);
            Some(format!("overflow run at page {} ({} bytes, of {}): {what}; resealed", run.first, run.len, run.tree))
        }
        "free list" => {
            if map.freelist_pages.is_empty() {
                return None;
            }
            let p = *pick(rng, &map.freelist_pages) as usize;
            let used = c.tree_pages();
            let runs_now = map.pages_where(|r| matches!(r, Role::Overflow(_)));
            let page = c.page(p);
            let n = get_u16(page, 2) as usize;
            let what = match below(rng, 5) {
                0 if n > 0 => {
                    let i = below(rng, n);
                    let to = *pick(rng, &used) as u64;
                    put_u64(page, PAGE_HEADER + 16 * i, to);
                    format!("run {i} now starts at page {to} (a tree page)")
                }
                1 if n > 0 && !runs_now.is_empty() => {
                    let i = below(rng, n);
                    let to = *pick(rng, &runs_now) as u64;
                    put_u64(page, PAGE_HEADER + 16 * i, to);
                    put_u64(page, PAGE_HEADER + 16 * i + 8, 1);
                    format!("run {i} now names page {to} (a page of an overflow run)")
                }
                2 if n > 0 => {
                    let i = below(rng, n);
                    let len = get_u64(page, PAGE_HEADER + 16 * i + 8);
                    put_u64(page, PAGE_HEADER + 16 * i + 8, len + 1 + below(rng, 5) as u64);
                    format!("run {i} lengthened")
                }
                3 => {
                    let to = if rng.below(2) == 0 { p as u64 } else { below(rng, map.pages()) as u64 };
                    let to = ref_of(&base.image, ps, to);
                    put_u64(page, 24, to);
                    format!("next page -> {to}")
                }
                _ => {
                    put_u16(page, 2, n as u16 + 1);
                    "run count + 1".into()
                }
            };
            reseal(page);
            Some(format!("free-list page {p}: {what}; resealed"))
        }
        "commit slot" => {
            let i = map.slot_index;
            let both = rng.below(10) < 7;
            let copies: Vec<usize> = if both { vec![SLOT_COPIES[i], SLOT_COPIES[i + 2]] } else { vec![SLOT_COPIES[i]] };
            let s = map.slot;
            let tree_pages = c.tree_pages();
            let (field, old, new): (usize, u64, u64) = match below(rng, 7) {
                0 => (8, s.seq, s.seq + 2),
                1 => (16, s.txn, [s.txn + 1, s.txn - 1, s.txn + 5][below(rng, 3)]),
                2 => (24, s.catalog_root, [ref_of(&base.image, ps, *pick(rng, &tree_pages) as u64), 0][below(rng, 2)]),
                3 => (32, s.freelist_head, [0, ref_of(&base.image, ps, *pick(rng, &tree_pages) as u64)][below(rng, 2)]),
                4 => (40, s.page_count, [s.page_count - 1, s.page_count + 1, s.page_count / 2][below(rng, 3)]),
                5 => {
                    (48, s.log_start, [s.log_start + 1, s.log_start - 1, *pick(rng, &tree_pages) as u64][below(rng, 3)])
                }
                _ => (56, s.log_pages, [s.log_pages - 1, s.log_pages + 4][below(rng, 2)]),
            };
            if old == new {
                return None;
            }
            for at in copies {
                put_u64(&mut c.img, at + field, new);
                reseal(&mut c.img[at..at + SLOT_LEN]);
                c.changed.push((at, at + SLOT_LEN));
            }
            let name =
                ["seq", "txn", "catalog_root", "freelist_head", "page_count", "log_start", "log_pages"][field / 8 - 1];
            Some(format!(
                "current commit slot ({}): {name} {old} -> {new}; resealed{}",
                ["A", "B"][i],
                if both { " (both copies)" } else { " (its mirror left as it was)" }
            ))
        }
        "log payload" => {
            let frames: Vec<&Frame> = map.frames.iter().filter(|f| !f.is_link()).collect();
            let f = (*pick(rng, &frames)).clone();
            let mut payload = frame_payload(&c.img, &f);
            let ops = parse_ops(&payload);
            if ops.is_empty() {
                return None;
            }
            let op = pick(rng, &ops).clone();
            let what = match (below(rng, 4), op.code) {
                (0, 2) if op.value.1 > op.value.0 => {
                    payload[op.value.0 + below(rng, op.value.1 - op.value.0)] ^= 1 + below(rng, 255) as u8;
                    "a byte of a PUT's value".to_string()
                }
                (1, 2 | 3) if op.key.1 > op.key.0 => {
                    payload[op.key.0 + below(rng, op.key.1 - op.key.0)] ^= 1 + below(rng, 255) as u8;
                    "a byte of a key".to_string()
                }
                (2, _) => {
                    let to = [0u8, 1, 2, 3, 4, 5, 0xFF][below(rng, 7)];
                    if to == op.code {
                        return None;
                    }
                    payload[op.at] = to;
                    format!("op code {} -> {to}", op.code)
                }
                (_, 1 | 4) if op.key.1 > op.key.0 => {
                    payload[op.key.0 + below(rng, op.key.1 - op.key.0)] ^= 1 + below(rng, 255) as u8;
                    "a byte of a table name".to_string()
                }
                _ => {
                    let at = op.at + 1;
                    let v = get_u16(&payload, at);
                    put_u16(&mut payload, at, if rng.below(2) == 0 { v + 1 } else { v.saturating_sub(1) });
                    format!("the length field of op {}", op.code)
                }
            };
            let bytes = encode_frame(f.txn, f.seq, f.flags, f.durable, &payload);
            c.img[f.at..f.at + bytes.len()].copy_from_slice(&bytes);
            c.changed.push(f.range());
            Some(format!("log frame of txn {} (page {}): {what}; tag recomputed, sectors resealed", f.txn, f.at / ps))
        }
        "log header" => {
            let f = pick(rng, &map.frames).clone();
            let mut payload = frame_payload(&c.img, &f);
            let (mut txn, mut seq, mut flags, mut durable) = (f.txn, f.seq, f.flags, f.durable);
            let what = match below(rng, 6) {
                0 => {
                    txn = if rng.below(2) == 0 { txn + 1 } else { txn - 1 };
                    format!("txn {} -> {txn}", f.txn)
                }
                1 => {
                    seq = if rng.below(2) == 0 { seq + 1 } else { seq - 1 };
                    format!("seq {} -> {seq}", f.seq)
                }
                2 => {
                    durable = [f.txn, f.txn.saturating_sub(3), 0, f.txn - 1][below(rng, 4)];
                    if durable == f.durable {
                        return None;
                    }
                    format!("durable_txn {} -> {durable}", f.durable)
                }
                3 => {
                    flags ^= [1, 2][below(rng, 2)];
                    format!("flags {} -> {flags}", f.flags)
                }
                4 if f.is_link() => {
                    let (s, n) = (get_u64(&payload, 0), get_u64(&payload, 8));
                    let (s2, n2) = match below(rng, 4) {
                        0 => (s + 1, n),
                        1 => (s, n - 1),
                        2 => (map.slot.log_start, n),
                        _ => (map.pages() as u64 + 10, n),
                    };
                    put_u64(&mut payload, 0, s2);
                    put_u64(&mut payload, 8, n2);
                    format!("continuation region {s}+{n} -> {s2}+{n2}")
                }
                _ => {
                    let n = payload.len();
                    let new =
                        if rng.below(2) == 0 { n + 1 + below(rng, 600) } else { n.saturating_sub(1 + below(rng, 600)) };
                    payload.resize(new, 0);
                    format!("payload length {n} -> {new}")
                }
            };
            let bytes = encode_frame(txn, seq, flags, durable, &payload);
            let end = (f.at + bytes.len()).min(c.img.len());
            c.img[f.at..end].copy_from_slice(&bytes[..end - f.at]);
            c.changed.push((f.at, end.max(f.at + f.len)));
            let kind = if f.is_link() { "continuation frame".to_string() } else { format!("frame of txn {}", f.txn) };
            Some(format!("log {kind} (page {}): {what}; tag recomputed, sectors resealed", f.at / ps))
        }
        "file header" => {
            let (what, at, v) = match below(rng, 3) {
                0 => ("page size", 12, [8192u32, 16384, 2048, 4097][below(rng, 4)]),
                1 => ("version", 8, [1u32, 3][below(rng, 2)]),
                _ => ("flags", 20, [1u32, 2][below(rng, 2)]),
            };
            put_u32(&mut c.img, at, v);
            reseal_header(&mut c.img);
            c.changed.push((0, 64));
            Some(format!("file header: {what} set to {v}; resealed"))
        }
        _ => unreachable!("{target}"),
    }
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(b: &mut [u8], at: usize, mut v: u64, n: usize) {
    for i in 0..n {
        b[at + i] = (v as u8 & 0x7f) | if i + 1 < n { 0x80 } else { 0 };
        v >>= 7;
    }
}

/// An operation of a log payload: its code's offset, and its key (or table name) and value spans.
#[derive(Clone, Debug)]
struct Op {
    at: usize,
    code: u8,
    key: (usize, usize),
    value: (usize, usize),
}

fn parse_ops(p: &[u8]) -> Vec<Op> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 3 <= p.len() {
        let code = p[at];
        let n = get_u16(p, at + 1) as usize;
        let op = match code {
            1 | 4 | 3 => Op { at, code, key: (at + 3, at + 3 + n), value: (0, 0) },
            2 if at + 7 <= p.len() => {
                let v = get_u32(p, at + 3) as usize;
                Op { at, code, key: (at + 7, at + 7 + n), value: (at + 7 + n, at + 7 + n + v) }
            }
            _ => break,
        };
        if op.key.1.max(op.value.1) > p.len() {
            break;
        }
        at = op.key.1.max(op.value.1);
        out.push(op);
    }
    out
}
