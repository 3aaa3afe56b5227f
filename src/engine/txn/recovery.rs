//! Reading the log back at open: which commits the file holds past its last checkpoint, and
//! whether damage has taken any that were durable.
//!
//! Two things can make the log end earlier than the last commit, and they must never be
//! confused:
//! - **a crash**: the frames written since the last sync may be missing or torn (any subset
//!   of their 512-byte sectors landed). Those commits were never acknowledged as durable; the
//!   database opens silently at the last commit whose frame is whole.
//! - **damage**: a durable frame changed afterwards (a flipped bit, a zeroed sector, a lost
//!   write, a truncated file). Commits that were acknowledged are gone: open fails with a
//!   corruption error that names them, unless the caller asks to salvage.
//!
//! The format makes them distinguishable (see [`crate::engine::format::FrameHeader`]): every sector of
//! a log region is either zero (regions are zero-filled, and synced, before the first frame is
//! written into them) or stamped with its own checksum and its frame's checksum. A torn write leaves
//! each sector either new or as it was before (zero, or a sector of some other frame); anything
//! else in a sector is damage, wherever it is. And every frame records the newest transaction
//! that was durable when it was written: a whole frame found after the end of the log proves
//! that the commits it names were durable, so their loss is damage too. What no format can
//! tell from a crash is the loss of the *newest* frames entirely (a zeroed or cut tail that
//! removes them and everything after): that is indistinguishable from a crash before they were
//! written.
//!
//! Version 1 files (no stamps) are read with the old rule — the first frame that fails its
//! checksum ends the log — to upgrade them.

use crate::engine::device::BlockDevice;
use crate::engine::format::{self, legacy, CommitSlot, FrameFault, FrameHeader, LogSector, FRAME_CONTINUE, LOG_SECTOR};
use crate::engine::page::PageId;
use crate::error::{Error, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

const SECTOR: u64 = LOG_SECTOR as u64;

/// Most regions one log may chain through (each at least twice the size of the one before, up
/// to the log's size limit: a real chain has a handful).
const MAX_CHAIN: usize = 64;

/// What the log of the current checkpoint holds.
#[derive(Debug, Default)]
pub(crate) struct LogScan {
    /// Each commit's frame: the page it starts in, and its payload, in commit order.
    pub frames: Vec<(u64, Vec<u8>)>,
    /// The regions the log runs through, in order (the first is the slot's).
    pub chain: Vec<(PageId, u64)>,
    /// Byte offset in the last region where the next frame goes.
    pub pos: u64,
    /// Bytes of commit frames read.
    pub bytes: u64,
    /// Every transaction up to this one is proven durable (the slot's, or a frame says so).
    pub durable_txn: u64,
    /// Something of this log lies at or past `pos` (a torn frame, whole frames behind it): the
    /// next frame must not be appended there, since a later recovery could read on into it.
    pub unclean: bool,
    /// Whole frames of this log found past its end (commits lost in a crash before their sync).
    pub skipped: u64,
    /// Damage that may have taken durable commits; `None` if there is no sign of any.
    pub lost: Option<Loss>,
    /// Pages past the end of the log holding damaged sectors (old content; no commit of this log
    /// can be read from them).
    pub stale_damage: Vec<u64>,
    /// Bytes of the last region missing from the end of the file (the file was cut short after
    /// the log's last frame: nothing readable was lost).
    pub short_by: u64,
}

/// Damage that may have removed acknowledged commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loss {
    /// The page where the damage was found.
    pub page: u64,
    /// What was found.
    pub what: String,
    /// The first commit that cannot be read: the log holds everything before it.
    pub first_lost_txn: u64,
    /// A later frame proves every commit up to this one was durable.
    pub proven_through: Option<u64>,
}

impl Loss {
    /// The corruption error an open reports.
    pub fn error(&self) -> Error {
        let proof = match self.proven_through {
            Some(t) if t >= self.first_lost_txn => format!(
                "; a later log frame proves transactions {} to {t} were durable ({} commits lost)",
                self.first_lost_txn,
                t - self.first_lost_txn + 1
            ),
            _ => String::new(),
        };
        Error::corrupted(
            self.page,
            format!(
                "{}: committed transactions from {} on cannot be read{proof}. The database would open as of \
                 transaction {}; open it with the salvage option to accept that",
                self.what,
                self.first_lost_txn,
                self.first_lost_txn - 1
            ),
        )
    }
}

/// Reads a device through a window of up to 1 MiB, so a scan costs one read per window.
struct Reader<'a> {
    dev: &'a dyn BlockDevice,
    len: u64,
    buf: Vec<u8>,
    at: u64,
}

impl<'a> Reader<'a> {
    fn new(dev: &'a dyn BlockDevice) -> Result<Self> {
        Ok(Reader { dev, len: dev.len()?, buf: Vec::new(), at: 0 })
    }

    /// `n` bytes at `off`, or `None` if they run past the end of the device.
    fn get(&mut self, off: u64, n: usize) -> Result<Option<&[u8]>> {
        let Some(end) = off.checked_add(n as u64).filter(|&e| e <= self.len) else { return Ok(None) };
        if off < self.at || end > self.at + self.buf.len() as u64 {
            let want = (n as u64).max(1 << 20).min(self.len - off);
            self.buf.resize(want as usize, 0);
            self.dev.read(off, &mut self.buf)?;
            self.at = off;
        }
        let from = (off - self.at) as usize;
        Ok(Some(&self.buf[from..from + n]))
    }
}

/// How the walk along the log stopped.
#[derive(PartialEq, Eq)]
enum End {
    /// At a sector that holds no frame of this log (zero, or older content).
    Clean,
    /// At a frame of this log that did not fully land.
    Torn,
    /// At the end of the file, inside a region where the log may go on.
    Eof,
}

/// Scan the log of the checkpoint `slot` (format 2): walk it from the slot's region along its
/// continuation frames, then look past its end for damage and for proof of lost commits.
pub(crate) fn scan(dev: &dyn BlockDevice, page_size: usize, slot: &CommitSlot) -> Result<LogScan> {
    let ps = page_size as u64;
    let mut rd = Reader::new(dev)?;
    let mut out = LogScan { durable_txn: slot.txn_id, ..LogScan::default() };
    let (mut start, mut pages) = (slot.log_start, slot.log_pages);
    out.chain.push((start, pages));
    let mut pos = 0u64;
    let mut expected = next_txn(slot.txn_id)?;
    let end = loop {
        let cap = pages * ps;
        let region = start * ps;
        if pos + SECTOR > cap {
            break End::Clean;
        }
        let Some(b) = rd.get(region + pos, LOG_SECTOR)? else { break End::Eof };
        let (h, frame_crc) = match LogSector::read(b) {
            LogSector::Zero | LogSector::Data { .. } => break End::Clean,
            LogSector::Damaged => {
                out.lost = Some(loss(start, pos, ps, "a log sector is damaged", expected));
                break End::Clean;
            }
            LogSector::Header { header, .. } if header.seq != slot.seq || header.txn_id != expected => {
                break End::Clean
            }
            LogSector::Header { header, frame_crc } => (header, frame_crc),
        };
        let len = FrameHeader::frame_len(h.payload_len as usize) as u64;
        let link = h.flags & FRAME_CONTINUE != 0;
        // The writer leaves a sector free behind every commit frame for a continuation frame.
        let room = if link { len } else { len + SECTOR };
        if h.flags & !FRAME_CONTINUE != 0
            || (link && h.payload_len != 16)
            || pos + room > cap
            || h.durable_txn >= expected
        {
            out.lost = Some(loss(start, pos, ps, "a log frame header holds values no writer writes", expected));
            break End::Clean;
        }
        let Some(bytes) = rd.get(region + pos, len as usize)? else { break End::Eof };
        let payload = match h.assemble(frame_crc, bytes) {
            Ok(p) => p,
            Err(FrameFault::Torn) => break End::Torn,
            Err(FrameFault::Damaged(i)) => {
                out.lost = Some(loss(start, pos + i as u64 * SECTOR, ps, "a log sector is damaged", expected));
                break End::Clean;
            }
        };
        out.durable_txn = out.durable_txn.max(h.durable_txn);
        if link {
            let (s, n) = format::decode_pair(&payload).expect("a continuation payload of 16 bytes (checked above)");
            let end_page = s.checked_add(n).filter(|_| s > 0 && n > 0);
            let overlaps = |&(a, m): &(u64, u64)| s < a + m && a < end_page.unwrap_or(u64::MAX);
            let what = match end_page {
                None => Some("a log continuation frame names an impossible region".into()),
                Some(_) if out.chain.iter().any(overlaps) || out.chain.len() >= MAX_CHAIN => {
                    Some("a log continuation frame names a region the log already went through".into())
                }
                // The writer synced the new region before linking it: a region that starts past
                // the end of the file was cut off. (One cut short is read as far as it goes.)
                Some(e) if s.checked_mul(ps).is_none_or(|b| b >= rd.len) => Some(format!(
                    "the log continues in pages {s} to {} but the file ends at byte {} (truncated)",
                    e - 1,
                    rd.len
                )),
                Some(_) => None,
            };
            if let Some(what) = what {
                out.lost = Some(loss(start, pos, ps, &what, expected));
                break End::Clean;
            }
            (start, pages, pos) = (s, n, 0);
            out.chain.push((s, n));
            continue;
        }
        out.frames.push((start + pos / ps, payload));
        out.bytes += len;
        pos += len;
        expected = next_txn(expected)?;
    };
    out.pos = pos;
    if out.lost.is_some() {
        return Ok(out);
    }
    if end == End::Eof {
        out.lost = Some(Loss {
            page: start + pos / ps,
            what: format!(
                "the file ends at byte {} inside the log region, where the log may go on (truncated)",
                rd.len
            ),
            first_lost_txn: expected,
            proven_through: None,
        });
        return Ok(out);
    }
    out.unclean = end == End::Torn;
    // Past the end: the rest of the last region, then the pages past the checkpoint's page
    // count that are not in the chain (a region whose link was lost would be there).
    let region_end = (start + pages) * ps;
    let file_end = rd.len;
    out.short_by = region_end.saturating_sub(file_end);
    let mut spans = vec![(start * ps + pos, region_end.min(file_end), true)];
    let mut tail = slot.page_count * ps;
    let mut regions: Vec<(u64, u64)> = out.chain.iter().map(|&(s, n)| (s * ps, (s + n) * ps)).collect();
    regions.sort_unstable();
    for (a, b) in regions {
        if a > tail {
            spans.push((tail, a.min(file_end), false));
        }
        tail = tail.max(b);
    }
    spans.push((tail, file_end, false));
    for (from, to, in_log) in spans {
        past_the_end(&mut rd, from, to, in_log, slot.seq, expected, ps, &mut out)?;
        if out.lost.is_some() {
            break;
        }
    }
    Ok(out)
}

/// Look at every sector in `from..to` (past the end of the log) for frames of this log or of a
/// newer one. `in_log`: the bytes belong to the log's last region (damaged sectors there are
/// noted; elsewhere they are other pages' bytes).
#[allow(clippy::too_many_arguments)]
fn past_the_end(
    rd: &mut Reader<'_>,
    from: u64,
    to: u64,
    in_log: bool,
    seq: u64,
    expected: u64,
    ps: u64,
    out: &mut LogScan,
) -> Result<()> {
    let mut off = from.next_multiple_of(SECTOR);
    while off + SECTOR <= to {
        let Some(b) = rd.get(off, LOG_SECTOR)? else { break };
        match LogSector::read(b) {
            LogSector::Header { header: h, frame_crc } => {
                if h.seq > seq {
                    out.lost = Some(Loss {
                        page: off / ps,
                        what: format!(
                            "the log of checkpoint {} exists, but the newest commit slot is checkpoint {seq} \
                             (a newer commit slot was lost)",
                            h.seq
                        ),
                        first_lost_txn: expected,
                        proven_through: None,
                    });
                    return Ok(());
                }
                if h.seq == seq && h.txn_id >= expected {
                    out.unclean = true;
                    if h.durable_txn >= expected {
                        out.lost = Some(Loss {
                            page: off / ps,
                            what: format!(
                                "the log ends before transaction {expected}, but the frame of transaction {} \
                                 past its end says transactions up to {} were durable",
                                h.txn_id, h.durable_txn
                            ),
                            first_lost_txn: expected,
                            proven_through: Some(h.durable_txn),
                        });
                        return Ok(());
                    }
                    let len = FrameHeader::frame_len(h.payload_len as usize);
                    if off + len as u64 <= to {
                        if let Some(frame) = rd.get(off, len)? {
                            if h.assemble(frame_crc, frame).is_ok() {
                                out.skipped += 1;
                            }
                        }
                    }
                }
            }
            LogSector::Damaged if in_log => {
                let page = off / ps;
                if out.stale_damage.last() != Some(&page) {
                    out.stale_damage.push(page);
                }
            }
            _ => {}
        }
        off += SECTOR;
    }
    Ok(())
}

fn next_txn(t: u64) -> Result<u64> {
    t.checked_add(1).ok_or_else(|| Error::corrupted(0, "the transaction counter is at its limit"))
}

fn loss(region: u64, pos: u64, ps: u64, what: &str, expected: u64) -> Loss {
    Loss { page: region + pos / ps, what: what.into(), first_lost_txn: expected, proven_through: None }
}

/// Read the log of a format 1 file (to replay it before upgrading): frames while they have
/// the magic, the slot's sequence, consecutive transaction ids and a valid checksum,
/// following continuation frames. Format 1 cannot tell damage from a torn tail.
pub(crate) fn scan_v1(dev: &dyn BlockDevice, page_size: usize, slot: &CommitSlot) -> Result<LogScan> {
    let ps = page_size as u64;
    let mut rd = Reader::new(dev)?;
    let file_pages = rd.len / ps;
    let mut out = LogScan { durable_txn: slot.txn_id, ..LogScan::default() };
    let (mut start, mut pages) = (slot.log_start, slot.log_pages);
    out.chain.push((start, pages));
    let mut pos = 0u64;
    let mut expected = next_txn(slot.txn_id)?;
    loop {
        let (cap, off) = (pages * ps, start * ps);
        let Some(head) = rd.get(off + pos, legacy::FRAME_HEADER)? else { break };
        let Some(h) = legacy::FrameHeader::parse(head) else { break };
        let total = legacy::FRAME_HEADER as u64 + h.payload_len as u64;
        if h.seq != slot.seq || h.txn_id != expected || pos + total > cap {
            break;
        }
        let Some(frame) = rd.get(off + pos, total as usize)? else { break };
        if !legacy::FrameHeader::verify(frame) {
            break;
        }
        let payload = frame[legacy::FRAME_HEADER..].to_vec();
        if h.flags & format::FRAME_CONTINUE != 0 {
            if h.payload_len != 16 || out.chain.len() >= MAX_CHAIN {
                return Err(Error::corrupted(start + pos / ps, "malformed log continuation frame"));
            }
            let (s, n) = format::decode_pair(&payload).expect("a continuation payload of 16 bytes (checked above)");
            if s == 0 || n == 0 || s.checked_add(n).is_none_or(|e| e > file_pages) {
                break;
            }
            (start, pages, pos) = (s, n, 0);
            out.chain.push((s, n));
            continue;
        }
        out.frames.push((start + pos / ps, payload));
        let len = legacy::FrameHeader::padded_len(h.payload_len as usize) as u64;
        pos += len;
        out.bytes += len;
        expected = next_txn(expected)?;
    }
    out.pos = pos;
    // Whatever lies past the end may be frames of this log: the upgrade zero-fills the region.
    out.unclean = true;
    Ok(out)
}
