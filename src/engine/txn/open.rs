//! Opening a database: creating a new file, reading and validating the header and commit
//! slots, loading and checking the free list, and replaying the log's commits into memory
//! (`recovery` scans the log; this file applies what it found).

use super::recovery::{self, LogScan};
use super::{checkpoint::*, database::*, inner::*, options::*, tables::*, writer::*};
use crate::engine::btree;
use crate::engine::delta::Deltas;
use crate::engine::device::BlockDevice;
use crate::engine::format::{
    self, at, get_u64, kind, page_no, CommitSlot, FileHeader, SlotCopy, FORMAT_VERSION, FREELIST_RUN, HEADER_CREATING,
    MIRROR_OFFSETS, PAGE_HEADER, SLOT_OFFSETS,
};
use crate::engine::free_set::FreeSet;
use crate::engine::log::{LogReader, Op};
use crate::engine::page::PageId;
use crate::engine::pager::{DirtyView, Pager};
use crate::engine::sync::{HandOff, Mutex};
use crate::error::{Error, Result};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;
use hashbrown::HashSet;

impl Database {
    /// Open or create a database on any [`BlockDevice`]. An empty device becomes a new database;
    /// otherwise the last durable commit is recovered.
    ///
    /// Opening never writes unless it must: the log's commits are replayed into memory (they
    /// reach the trees at the next checkpoint), so a database on a full disk or a read-only
    /// medium still opens. It writes only to create a database, to upgrade a file of an older
    /// format (never with [`Options::read_only`]), and, when the free list is found to name
    /// pages a tree still uses, never: that is damage, reported (see [`Options::salvage`]).
    pub fn open_device(device: impl BlockDevice + 'static, options: Options) -> Result<Database> {
        if !format::valid_page_size(options.page_size) {
            return Err(Error::InvalidOptions(format!(
                "page size {} is not a power of two in 4096..=65536",
                options.page_size
            )));
        }
        if options.cache_size < 16 * options.page_size {
            return Err(Error::InvalidOptions(format!("cache size {} is below 16 pages", options.cache_size)));
        }
        let device: Box<dyn BlockDevice> = Box::new(device);
        let header = match read_head(&*device, options.salvage)? {
            Head::Existing(h) => h,
            Head::New if options.read_only => {
                return Err(Error::NotADatabase(
                    "the file is empty (or its creation never finished), and a read-only open cannot create a \
                     database"
                        .into(),
                ))
            }
            Head::New => create(&*device, options.page_size, options.max_log_size)?,
        };
        let page_size = header.page_size as usize;
        let pager = Pager::new(device, page_size, options.cache_size, options.use_mmap)?;
        let mut report = RecoveryReport::default();
        let slot = read_slots(&pager, options.salvage, &mut report)?;
        validate_slot(&pager, &slot, options.salvage, &mut report)?;
        let header = check_version(&pager, header, &slot, options.salvage, &mut report)?;
        let (mut free, freelist_pages) = load_freelist(&pager, &slot)?;
        if !options.read_only {
            // Writes will allocate from the free list: it must not name a page a tree uses.
            let used = match free_pages_in_use(&pager, &slot, &free) {
                Ok(used) => used,
                // A damaged tree page stops the check: salvage allocates past the end only.
                Err(e @ Error::Corrupted { .. }) if options.salvage => {
                    report.harmless_damage.push(format!(
                        "checking the free list against the trees failed ({e}): nothing is allocated from the free list"
                    ));
                    free = FreeSet::new();
                    Vec::new()
                }
                Err(Error::Corrupted { page, reason }) => {
                    return Err(Error::corrupted(
                        page,
                        format!(
                            "{reason} (found checking the free list against the trees before any write; open it \
                             read-only to read the rest, or with the salvage option)"
                        ),
                    ))
                }
                Err(e) => return Err(e),
            };
            if let Some(&first) = used.first() {
                let what = format!(
                    "the free list names {} page(s) that the trees still use (page {first} first); writing \
                     would overwrite them",
                    used.len()
                );
                if !options.salvage {
                    return Err(Error::corrupted(first, format!("{what}; open read-only, or with the salvage option")));
                }
                for id in &used {
                    free.remove(id);
                }
                report.harmless_damage.push(format!("page {first}: {what}; those pages were taken off the free list"));
            }
        }
        let mut scan = if header.version < 2 {
            recovery::scan_v1(&*pager.device, page_size, &slot)?
        } else {
            recovery::scan(&*pager.device, page_size, &slot)?
        };
        if let Some(lost) = scan.lost.take() {
            if !options.salvage {
                return Err(lost.error());
            }
            report.salvaged = Some(format!("{}", lost.error()));
            scan.unclean = true;
        }
        report.frames_skipped = scan.skipped;
        for p in &scan.stale_damage {
            report.harmless_damage.push(format!(
                "page {p}: a log sector past the end of the log is damaged (it held no commit of the current log)"
            ));
        }
        if scan.short_by > 0 {
            report.harmless_damage.push(format!(
                "the file ends {} bytes before the end of its log region (cut short); the log ended before the \
                 cut, so no commit was lost",
                scan.short_by
            ));
        }
        if header.version < FORMAT_VERSION {
            report.upgraded_from = Some(header.version);
        }
        report.frames_replayed = scan.frames.len() as u64;
        let w = writer_state(&slot, free, freelist_pages, &scan);
        let shared = Arc::new(Shared {
            pager,
            readers: Mutex::new(Readers {
                current: Snapshot {
                    txn_id: slot.txn_id,
                    catalog_root: slot.catalog_root,
                    deltas: Arc::new(Deltas::new()),
                },
                view: Arc::new(DirtyView::default()),
                active: BTreeMap::new(),
            }),
            writer: HandOff::new(w),
            poisoned: AtomicBool::new(false),
            options,
            recovery: Mutex::new(report),
        });
        let db = Database { shared };
        let frames = core::mem::take(&mut scan.frames);
        if let Err((i, e)) = db.replay(&frames, scan.durable_txn) {
            if i >= frames.len() {
                return Err(e);
            }
            // A frame whose checksums hold but whose operations do not apply (a crafted or
            // corrupted payload): the commits from it on are lost.
            let lost = recovery::Loss {
                page: frames[i].0,
                what: format!("a log frame's operations cannot be replayed ({e})"),
                first_lost_txn: slot.txn_id + i as u64 + 1,
                proven_through: None,
            };
            if !db.shared.options.salvage {
                return Err(lost.error());
            }
            db.replay(&frames[..i], scan.durable_txn).map_err(|(_, e)| e)?;
            let mut r = db.shared.recovery.lock();
            r.salvaged = Some(format!("{}", lost.error()));
            r.frames_replayed = i as u64;
            drop(r);
            Writer::take(&db.shared)?.log_unclean = true;
        }
        if header.version < FORMAT_VERSION && !db.shared.options.read_only {
            db.upgrade(page_size)?;
        }
        Ok(db)
    }

    /// Replay the log's commits into memory, as the session that made them left them: each
    /// table's writes a run of its delta, the catalog's changes dirty pages. Nothing is
    /// written (a log commit wrote nothing but its frame either).
    /// On failure, the index of the frame that failed (`frames.len()` if the final step did)
    /// and why; nothing was applied then.
    /// `durable_txn` is the newest transaction the log proves durable; what the replay keeps of
    /// it (never past the last transaction replayed) is what the next frame records.
    pub(super) fn replay(
        &self,
        frames: &[(u64, Vec<u8>)],
        durable_txn: u64,
    ) -> core::result::Result<(), (usize, Error)> {
        if frames.is_empty() {
            return Ok(());
        }
        let w = Writer::take(&self.shared).map_err(|e| (0, e))?;
        let mut tx = TxnInner::new(self.shared.clone(), w);
        tx.logging = false;
        tx.replaying = true;
        for (i, (page, payload)) in frames.iter().enumerate() {
            if let Err(e) = tx.replay_frame(payload, *page) {
                tx.undo();
                return Err((i, e));
            }
        }
        // The scan checked every id (consecutive from the slot's, no overflow).
        tx.txn_id = tx.w.slot.txn_id + frames.len() as u64;
        tx.commit_replayed().map_err(|e| (frames.len(), e))?;
        tx.w.synced_txn = durable_txn.min(tx.w.last_txn);
        Ok(())
    }

    /// Bring a file of an older format version to this one, after its log was replayed:
    /// checkpoint (writing this version's slot copies), zero-fill the log region (its frames
    /// are in the old format), then write the current header. A crash at any step leaves a
    /// file of the old version that the next open upgrades again.
    pub(super) fn upgrade(&self, page_size: usize) -> Result<()> {
        self.checkpoint()?;
        let w = Writer::take(&self.shared)?;
        let pager = &self.shared.pager;
        let (start, pages) = *w.log_chain.last().expect("log chain");
        let r = (|| {
            pager.zero_pages(start, pages)?;
            pager.sync()?;
            let mut head = [0u8; 64];
            FileHeader { page_size: page_size as u32, version: FORMAT_VERSION, flags: 0 }.encode(&mut head);
            pager.write_at(0, &head)?;
            pager.sync()
        })();
        w.settle(r, false)
    }
}

/// Write a new, empty database, in three synced steps: (1) a header that says the file is
/// being created ([`HEADER_CREATING`]), alone; (2) commit slot B and its mirror, and the
/// zero-filled log region; (3) the header without the flag. A crash before (1) is durable
/// leaves at most a blank first sector, after it a header with the flag: either way the next
/// open creates the database afresh (nothing was acknowledged). A blank header on a file
/// that holds anything else is therefore damage, never an unfinished creation.
pub(super) fn create(device: &dyn BlockDevice, page_size: usize, max_log: usize) -> Result<FileHeader> {
    let log_pages = (INITIAL_LOG_BYTES.min(max_log.max(page_size * 4)) / page_size).max(4) as u64;
    let slot = CommitSlot {
        seq: 1,
        txn_id: 0,
        catalog_root: 0,
        freelist_head: 0,
        page_count: 1 + log_pages,
        log_start: 1,
        log_pages,
    };
    let header = |flags| FileHeader { page_size: page_size as u32, version: FORMAT_VERSION, flags };
    let mut page0 = vec![0u8; page_size];
    header(HEADER_CREATING).encode(&mut page0);
    device.set_len(0)?;
    device.write(0, &page0[..SECTOR as usize])?;
    device.sync()?;
    for at in [SLOT_OFFSETS[1], MIRROR_OFFSETS[1]] {
        page0[at as usize..at as usize + format::SLOT_LEN].copy_from_slice(&slot.encode());
    }
    device.write(0, &page0)?;
    device.write(page_size as u64, &vec![0u8; log_pages as usize * page_size])?;
    device.sync()?;
    let done = header(0);
    let mut head = [0u8; 64];
    done.encode(&mut head);
    device.write(0, &head)?;
    device.sync()?;
    Ok(done)
}

/// What the start of the device says.
pub(super) enum Head {
    /// Empty, or a creation that never finished: create the database.
    New,
    /// A database.
    Existing(FileHeader),
}

/// Read and judge the file header. Anything but an empty device, a creation that never
/// finished, or a valid header is an error: a file that holds bytes is never overwritten.
pub(super) fn read_head(device: &dyn BlockDevice, salvage: bool) -> Result<Head> {
    let len = device.len()?;
    if len == 0 {
        return Ok(Head::New);
    }
    let mut head = [0u8; 64];
    let n = len.min(64) as usize;
    device.read(0, &mut head[..n])?;
    if head.iter().all(|&b| b == 0) {
        // A blank header: only the first step of a creation can leave one (a file of zeros
        // of at most a sector), or a format 1 creation interrupted before its header.
        if all_zero(device, len)? || unfinished_v1_creation(device, len)? {
            return Ok(Head::New);
        }
        if !has_slot_magic(device, len)? {
            return Err(Error::NotADatabase(format!(
                "the first 64 bytes are zero, and the {len}-byte file has no commit slot"
            )));
        }
        return Err(Error::corrupted(
            0,
            format!("the file header is blank but the file holds {len} bytes and its commit slots: the header was destroyed"),
        ));
    }
    if len < 64 {
        return Err(Error::NotADatabase(format!("the file is only {len} bytes")));
    }
    let h = FileHeader::decode(&head)?;
    if h.flags & HEADER_CREATING != 0 {
        // A creation never got past its second step before it wrote anything but slot B of
        // checkpoint 1 (no tables) and a zero-filled log. A file that holds more was used: its
        // header is damaged (a lost write of the creation's last step, a flipped flag), and
        // starting over would wipe it.
        if unfinished_creation(device, h.page_size as usize)? {
            return Ok(Head::New);
        }
        if !salvage {
            return Err(Error::corrupted(
                0,
                "the file header says the file is being created, but the file holds a checkpoint or commits: \
                 the header is damaged. Open it with the salvage option to read it as a database",
            ));
        }
        return Ok(Head::Existing(FileHeader { flags: 0, ..h }));
    }
    Ok(Head::Existing(h))
}

/// Whether a file whose header says it is being created holds nothing a finished creation
/// could have been used for: every commit slot copy blank or checkpoint 1 with no tables,
/// and no log frame at the start of its log region.
pub(super) fn unfinished_creation(device: &dyn BlockDevice, page_size: usize) -> Result<bool> {
    let len = device.len()?;
    let mut page0 = vec![0u8; page_size];
    let n = (len as usize).min(page_size);
    device.read(0, &mut page0[..n])?;
    let mut log = None;
    for at in SLOT_OFFSETS.into_iter().chain(MIRROR_OFFSETS) {
        match SlotCopy::read(&page0[at as usize..at as usize + format::SLOT_LEN]) {
            SlotCopy::Blank => {}
            SlotCopy::Valid(s) if s.seq == 1 && s.txn_id == 0 && s.catalog_root == 0 && s.freelist_head == 0 => {
                log = Some(s.log_start)
            }
            _ => return Ok(false),
        }
    }
    if let Some(start) = log {
        let at = start.saturating_mul(page_size as u64);
        if at + format::LOG_SECTOR as u64 <= len {
            let mut sector = [0u8; format::LOG_SECTOR];
            device.read(at, &mut sector)?;
            if sector.iter().any(|&b| b != 0) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether the whole device reads as zeros (only checked for small devices: a creation
/// interrupted before its first sync leaves at most a sector).
pub(super) fn all_zero(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    if len > 1 << 20 {
        return Ok(false);
    }
    let mut buf = vec![0u8; len as usize];
    device.read(0, &mut buf)?;
    Ok(buf.iter().all(|&b| b == 0))
}

/// Whether any commit slot position starts with the slot magic (the file is a Tessera file).
pub(super) fn has_slot_magic(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    for at in SLOT_OFFSETS.into_iter().chain(MIRROR_OFFSETS) {
        let mut magic = [0u8; 4];
        if at + 4 <= len {
            device.read(at, &mut magic)?;
            if &magic == b"TSLT" {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Format 1 created a database by writing slot B (sequence 1, no tables) and the log region
/// first and the header last: a file in that state was never used.
pub(super) fn unfinished_v1_creation(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    if len < 4096 {
        return Ok(false);
    }
    let mut page0 = [0u8; 4096];
    device.read(0, &mut page0)?;
    let at = SLOT_OFFSETS[1] as usize;
    let blank_elsewhere = page0.iter().enumerate().all(|(i, &b)| b == 0 || (at..at + format::SLOT_LEN).contains(&i));
    Ok(blank_elsewhere
        && CommitSlot::decode(&page0[at..]).is_some_and(|s| s.seq == 1 && s.txn_id == 0 && s.catalog_root == 0))
}

/// The current commit slot: the valid copy with the highest sequence number. Each slot is
/// written twice (slot and mirror, two sectors, then a sync), and sectors are written whole,
/// so a copy that is neither blank nor valid is damage. One damaged copy costs nothing (its
/// twin is used; reported); a slot damaged in every copy may have been the newer checkpoint,
/// and then the commits after the older one are lost: an error, unless salvaging.
pub(super) fn read_slots(pager: &Pager, salvage: bool, report: &mut RecoveryReport) -> Result<CommitSlot> {
    let len = pager.device.len()?;
    if len < pager.page_size as u64 {
        return Err(Error::corrupted(0, format!("file truncated to {len} bytes, shorter than its header page")));
    }
    let mut page0 = vec![0u8; MIRROR_OFFSETS[1] as usize + format::SLOT_LEN];
    pager.device.read(0, &mut page0)?;
    let copy = |i: usize, at: u64| match SlotCopy::read(&page0[at as usize..at as usize + format::SLOT_LEN]) {
        // A slot lives at the index its sequence number picks; elsewhere it was not written so.
        SlotCopy::Valid(s) if (s.seq % 2) as usize != i => SlotCopy::Damaged,
        c => c,
    };
    let copies = [0, 1].map(|i| [copy(i, SLOT_OFFSETS[i]), copy(i, MIRROR_OFFSETS[i])]);
    let best = copies
        .iter()
        .flatten()
        .filter_map(|c| match c {
            SlotCopy::Valid(s) => Some(*s),
            _ => None,
        })
        .max_by_key(|s| s.seq)
        .ok_or_else(|| Error::corrupted(0, "no valid commit slot"))?;
    // The sequence numbers must fit how checkpoints write them: the other slot holds the
    // previous checkpoint (its two copies were synced before this one was written), and the
    // two copies of one slot are the same checkpoint or, after a crash between them, two apart.
    let seqs = |i: usize| copies[i].iter().filter_map(|c| if let SlotCopy::Valid(s) = c { Some(s.seq) } else { None });
    let cur = (best.seq % 2) as usize;
    let other_damaged = copies[1 - cur].contains(&SlotCopy::Damaged);
    let other_ok = match seqs(1 - cur).max() {
        Some(s) => s + 1 == best.seq,
        // Never written: only the first checkpoint (creation's) has no predecessor.
        None => best.seq == 1 || other_damaged,
    };
    let pairs_ok = (0..2).all(|i| {
        let (lo, hi) = (seqs(i).min(), seqs(i).max());
        lo.zip(hi).is_none_or(|(lo, hi)| hi == lo || hi == lo + 2)
    });
    if !other_ok || !pairs_ok {
        let all: Vec<u64> = (0..2).flat_map(seqs).collect();
        let what = format!(
            "the commit slots' checkpoint numbers {all:?} do not follow each other (a slot was changed); the \
             newest is checkpoint {} (transaction {})",
            best.seq, best.txn_id
        );
        if !salvage {
            return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to use it")));
        }
        report.salvaged = Some(what);
    }
    for (i, pair) in copies.iter().enumerate() {
        let name = ["A", "B"][i];
        let valid = pair.iter().any(|c| matches!(c, SlotCopy::Valid(_)));
        for (c, at) in pair.iter().zip([SLOT_OFFSETS[i], MIRROR_OFFSETS[i]]) {
            if *c != SlotCopy::Damaged {
                continue;
            }
            if valid {
                report.harmless_damage.push(format!(
                    "page 0: commit slot {name}'s copy at byte {at} is damaged; its other copy is intact and was used"
                ));
            } else if (best.seq % 2) as usize != i {
                let what = format!(
                    "commit slot {name} is damaged in every copy (byte {at}); the newest intact slot is checkpoint {} \
                     (transaction {}): if the damaged one was newer, the commits after transaction {} are lost",
                    best.seq, best.txn_id, best.txn_id
                );
                if !salvage {
                    return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to accept that")));
                }
                report.salvaged = Some(what);
                break;
            }
        }
    }
    Ok(best)
}

/// A header that says format 1 on a file whose current log holds format 2 frames is damaged
/// (format 1 never wrote a stamped sector, and an upgrade stamps none before it rewrites the
/// header): read as format 1, the log's commits would be dropped and the upgrade would
/// zero-fill them.
pub(super) fn check_version(
    pager: &Pager,
    header: FileHeader,
    slot: &CommitSlot,
    salvage: bool,
    report: &mut RecoveryReport,
) -> Result<FileHeader> {
    if header.version >= 2 {
        return Ok(header);
    }
    let at = slot.log_start * pager.page_size as u64;
    let mut sector = [0u8; format::LOG_SECTOR];
    if at + sector.len() as u64 > pager.device.len()? {
        return Ok(header);
    }
    pager.device.read(at, &mut sector)?;
    if !matches!(format::LogSector::read(&sector), format::LogSector::Header { header: h, .. } if h.seq == slot.seq) {
        return Ok(header);
    }
    let what = "the file header says format version 1, but the log holds format 2 frames: the header is damaged";
    if !salvage {
        return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to read it as format 2")));
    }
    report.harmless_damage.push(format!("page 0: {what} (read as format 2)"));
    Ok(FileHeader { version: 2, ..header })
}

/// Checks on the slot's numbers before anything trusts them.
pub(super) fn validate_slot(
    pager: &Pager,
    slot: &CommitSlot,
    salvage: bool,
    report: &mut RecoveryReport,
) -> Result<()> {
    let bad = |why: String| Err(Error::corrupted(0, why));
    if slot.seq == u64::MAX || slot.txn_id == u64::MAX {
        return bad(format!(
            "the commit slot's counters are at their limit (checkpoint {}, transaction {})",
            slot.seq, slot.txn_id
        ));
    }
    let ps = pager.page_size as u64;
    let Some(need) = slot.page_count.checked_mul(ps) else {
        return bad(format!("the commit slot names an impossible page count {}", slot.page_count));
    };
    let log_end = slot.log_start.checked_add(slot.log_pages);
    if slot.log_start == 0 || slot.log_pages == 0 || log_end.is_none_or(|e| e > slot.page_count) {
        return bad("the commit slot's log region lies outside the file".into());
    }
    if page_no(slot.catalog_root) >= slot.page_count || page_no(slot.freelist_head) >= slot.page_count {
        return bad("the commit slot names a page past its page count".into());
    }
    let file_len = pager.device.len()?;
    if need > file_len {
        let what = format!(
            "the file is {file_len} bytes but its last checkpoint needs {} pages ({need} bytes): it was cut short",
            slot.page_count
        );
        if !salvage {
            return bad(format!("{what}. Open it with the salvage option to read what is left"));
        }
        report.salvaged = Some(what);
    }
    Ok(())
}

/// The writer's state at open: the checkpoint's, then the log read past it.
pub(super) fn writer_state(
    slot: &CommitSlot,
    mut free: FreeSet,
    freelist_pages: Vec<PageId>,
    scan: &LogScan,
) -> WriterState {
    // Past the checkpoint's page count lie the regions the log continued into, and pages the
    // last session allocated without a checkpoint reaching them (early writes, pages of commits that
    // lived in the log): no durable structure uses those, so they are free.
    let chain_end = scan.chain.iter().map(|&(s, n)| s + n).max().unwrap_or(0).max(slot.page_count);
    for id in slot.page_count..chain_end {
        if !scan.chain.iter().any(|&(s, n)| (s..s + n).contains(&id)) {
            free.insert(id);
        }
    }
    WriterState {
        free,
        next_page: chain_end,
        pending: Vec::new(),
        fresh: HashSet::new(),
        slot: *slot,
        freelist_pages,
        log_chain: scan.chain.clone(),
        log_pos: scan.pos,
        log_bytes: scan.bytes,
        last_txn: slot.txn_id,
        // Raised by the replay of the log's frames (see `Database::replay`).
        synced_txn: slot.txn_id,
        log_unclean: scan.unclean,
        catalog_root: slot.catalog_root,
        unsynced: false,
        deltas: Arc::new(Deltas::new()),
        delta_bytes: 0,
        free_after_compact: 0,
        tags: tag_seed(slot, scan),
    }
}

/// Where the writer's version tags start: different for every open of a file (its slot and
/// log), and with `std` for every process too, so that a session that repeats a crashed
/// one's allocations does not repeat its tags.
pub(super) fn tag_seed(slot: &CommitSlot, scan: &LogScan) -> u64 {
    #[allow(unused_mut)]
    let mut seed = slot.seq.rotate_left(17) ^ slot.txn_id.rotate_left(41) ^ scan.pos ^ (scan.frames.len() as u64) << 32;
    #[cfg(feature = "std")]
    {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        seed ^= nanos ^ (std::process::id() as u64).rotate_left(29);
    }
    seed
}

/// Free-list page: header, then `nslots` runs of (start u64, len u64); next page at offset 24.
/// Every run must lie inside the data pages, outside the log region and the list's own
/// pages, and no page may be listed twice.
pub(super) fn load_freelist(pager: &Pager, slot: &CommitSlot) -> Result<(FreeSet, Vec<PageId>)> {
    let mut free = FreeSet::new();
    let mut pages = Vec::new();
    let mut id = slot.freelist_head;
    let log_end = slot.log_start + slot.log_pages;
    while id != 0 {
        if pages.len() as u64 > slot.page_count || page_no(id) >= slot.page_count {
            return Err(Error::corrupted(id, "the free list runs past the file's pages (a cycle?)"));
        }
        let b = pager.read_page_uncached(id)?;
        if b[at::KIND] != kind::FREELIST {
            return Err(Error::corrupted(id, format!("expected a free-list page, found kind {}", b[at::KIND])));
        }
        let n = format::get_u16(&b, at::COUNT) as usize;
        if PAGE_HEADER + n * FREELIST_RUN > b.len() {
            return Err(Error::corrupted(id, "free-list page run count too large"));
        }
        for i in 0..n {
            let run = &b[PAGE_HEADER + FREELIST_RUN * i..][..FREELIST_RUN];
            let (start, len) = format::decode_pair(run).expect("a run is 16 bytes");
            let end = start
                .checked_add(len)
                .filter(|&e| start > 0 && len > 0 && e <= slot.page_count && (e <= slot.log_start || start >= log_end));
            if end.is_none() {
                return Err(Error::corrupted(id, format!("free run {start}+{len} outside the data pages")));
            }
            for p in start..start + len {
                if !free.insert(p) {
                    return Err(Error::corrupted(id, format!("page {p} is on the free list twice")));
                }
            }
        }
        pages.push(page_no(id));
        id = get_u64(&b, at::FREELIST_NEXT);
    }
    if let Some(p) = pages.iter().find(|p| free.contains(p)) {
        return Err(Error::corrupted(*p, "a free-list page lists itself as free"));
    }
    Ok((free, pages))
}

/// Pages on the free list that a tree of the checkpoint still uses, found by walking the
/// catalog and every table's branch pages (a branch names its children, so the leaves are
/// not read: one leaf per lowest branch tells the level). Overflow runs, named only by
/// leaves, are not covered. Bounded by the page count.
pub(super) fn free_pages_in_use(pager: &Pager, slot: &CommitSlot, free: &FreeSet) -> Result<Vec<PageId>> {
    let mut used = Vec::new();
    if free.is_empty() || slot.catalog_root == 0 {
        return Ok(used);
    }
    // (page, depth, is it the catalog's)
    let mut stack = vec![(slot.catalog_root, 0usize, true)];
    let mut visits = 0u64;
    let note = |id: PageId, used: &mut Vec<PageId>| {
        if free.contains(&page_no(id)) && used.len() < 1000 {
            used.push(page_no(id));
        }
    };
    while let Some((id, depth, catalog)) = stack.pop() {
        visits += 1;
        if visits > slot.page_count || depth >= btree::MAX_DEPTH {
            return Err(Error::corrupted(id, "the trees reach more pages than the file holds (a cycle?)"));
        }
        note(id, &mut used);
        let page = pager.read_page(id)?;
        let node = crate::engine::page::Node::new(&page);
        if node.is_leaf() {
            if catalog {
                for i in 0..node.len() {
                    if let crate::engine::page::LeafValue::Inline(v) = node.value(i) {
                        let (root, _) = decode_meta(v)?;
                        if root != 0 {
                            stack.push((root, 0, false));
                        }
                    }
                }
            }
            continue;
        }
        let children: Vec<PageId> = (0..=node.len()).map(|i| node.child(i)).collect();
        drop(page);
        // Whether the children are leaves (then they are only checked, not read).
        let leaves = !catalog && pager.read_page(children[0]).map(|p| p[at::KIND] == kind::LEAF)?;
        for c in children {
            if leaves {
                note(c, &mut used);
            } else {
                stack.push((c, depth + 1, catalog));
            }
        }
    }
    used.sort_unstable();
    Ok(used)
}

impl TxnInner {
    /// Replay one log frame: its writes go to the tables' buffers as they were committed
    /// (a removal is replayed as a removal even if the key is not there; that is harmless).
    pub(super) fn replay_frame(&mut self, payload: &[u8], page: u64) -> Result<()> {
        let bad = |what: &str| Error::corrupted(page, format!("log frame: {what}"));
        let mut table: Option<String> = None;
        for op in LogReader::new(payload, page) {
            match op? {
                Op::Table(name) => {
                    check_table_name(name).map_err(|_| bad("bad table name"))?;
                    self.table(name, true)?;
                    table = Some(name.into());
                }
                Op::DeleteTable(name) => {
                    check_table_name(name).map_err(|_| bad("bad table name"))?;
                    self.delete_table(name)?;
                    table = None;
                }
                op @ (Op::Put(..) | Op::Remove(..)) => {
                    let t = table.as_deref().ok_or_else(|| bad("a write before any table"))?;
                    let (key, value) = match op {
                        Op::Put(k, v) => (k, Some(v)),
                        Op::Remove(k) => (k, None),
                        _ => unreachable!("matched above"),
                    };
                    if key.len() > MAX_KEY_LEN || value.is_some_and(|v| v.len() > MAX_VALUE_LEN) {
                        return Err(bad("a key or value over the limit"));
                    }
                    self.tables.get_mut(t).expect("open table").buffer.push(key, value);
                }
            }
        }
        Ok(())
    }

    /// Finish replaying the log: each table's replayed writes become a run of its delta,
    /// tables created or dropped change the catalog (dirty pages, in memory), and the result
    /// is published. Writes nothing.
    pub(super) fn commit_replayed(&mut self) -> Result<()> {
        let r = (|| {
            self.buffers_to_layers();
            self.write_catalog()?;
            for (id, page) in self.pages.dirty.drain() {
                self.shared.pager.insert_dirty(id, page);
            }
            self.pages.bytes = 0;
            self.finish(self.txn_id);
            self.publish();
            Ok(())
        })();
        if r.is_err() {
            self.undo();
        }
        r
    }
}
