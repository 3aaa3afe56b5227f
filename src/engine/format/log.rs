//! The log region: 512-byte sectors, stamped; a frame (one committed transaction) is a header
//! sector and data sectors. The frame payload's operations are encoded by `engine::log`.

use super::{crc_skipping, get_u32, get_u64, put_u32, put_u64, Crc};

/// Bytes of a log sector: the unit the log is written, torn and checked in.
pub const LOG_SECTOR: usize = 512;
/// Header bytes of a frame's first sector; its payload starts here.
pub const FRAME_HEADER: usize = 48;
/// Header bytes of a frame's following sectors.
pub const DATA_SECTOR_HEADER: usize = 16;
const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"TLOG");
const DATA_MAGIC: u32 = u32::from_le_bytes(*b"TLGD");

/// Frame flag: the frame's payload is `start u64, pages u64`, the log region where the log
/// continues (at offset 0); it carries the id of the next transaction without consuming it.
pub const FRAME_CONTINUE: u32 = 1;

/// Header of one log frame (one committed transaction's changes).
///
/// A frame is a run of 512-byte sectors, each stamped so that recovery can tell, sector by
/// sector, *new* (this frame's), *old* (zeros, or a sector of another frame: a write that never
/// landed) and *damaged* (anything else) apart:
///
/// ```text
/// first sector   0 "TLOG" | 4 sector crc | 8 txn u64 | 16 payload len u32 | 20 flags u32
///                24 seq u64 | 32 frame crc u32 | 36 zero u32 | 40 durable txn u64 | 48.. payload
/// next sectors   0 "TLGD" | 4 sector crc | 8 frame crc u32 | 12 zero u32 | 16.. payload
/// ```
///
/// The sector crc covers the sector's 512 bytes (its own field as zero); the frame checksum is
/// the CRC of the frame's header fields and whole payload, so the sectors of two different
/// frames never mix unnoticed. `durable_txn`: every transaction up to this id had been synced
/// when the frame was written — a later frame that survives proves earlier ones were durable,
/// which is how damage is told from a torn, unsynced tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The transaction the frame commits.
    pub txn_id: u64,
    /// The checkpoint sequence the log belongs to (frames of older logs never match).
    pub seq: u64,
    /// Bytes of payload.
    pub payload_len: u32,
    /// [`FRAME_CONTINUE`] or 0.
    pub flags: u32,
    /// Every transaction up to this one was durable before this frame was written.
    pub durable_txn: u64,
}

/// Payload bytes of a frame's first sector.
const HEAD_DATA: usize = LOG_SECTOR - FRAME_HEADER;
/// Payload bytes of each following sector.
const SECTOR_DATA: usize = LOG_SECTOR - DATA_SECTOR_HEADER;

impl FrameHeader {
    /// Bytes the frame occupies in the log: whole sectors.
    pub fn frame_len(payload_len: usize) -> usize {
        LOG_SECTOR * (1 + payload_len.saturating_sub(HEAD_DATA).div_ceil(SECTOR_DATA))
    }

    /// The largest payload a frame of at most `frame_bytes` bytes holds.
    pub fn max_payload(frame_bytes: u64) -> u64 {
        match frame_bytes / LOG_SECTOR as u64 {
            0 => 0,
            n => HEAD_DATA as u64 + (n - 1) * SECTOR_DATA as u64,
        }
    }

    /// The frame's checksum: CRC of its header fields and its payload.
    fn frame_crc(&self, payload: &[u8]) -> u32 {
        let mut c = Crc::new();
        c.update(&self.txn_id.to_le_bytes());
        c.update(&self.seq.to_le_bytes());
        c.update(&self.payload_len.to_le_bytes());
        c.update(&self.flags.to_le_bytes());
        c.update(&self.durable_txn.to_le_bytes());
        c.update(payload);
        c.finish()
    }

    /// Append the frame (header, `payload`, stamps, zero padding) to `out`: exactly
    /// [`FrameHeader::frame_len`] bytes. `payload_len` must be `payload.len()`.
    pub fn encode(&self, payload: &[u8], out: &mut alloc::vec::Vec<u8>) {
        debug_assert_eq!(self.payload_len as usize, payload.len());
        let frame_crc = self.frame_crc(payload);
        let start = out.len();
        out.resize(start + Self::frame_len(payload.len()), 0);
        let frame = &mut out[start..];
        let (head, rest) = frame.split_at_mut(LOG_SECTOR);
        put_u32(head, 0, FRAME_MAGIC);
        put_u64(head, 8, self.txn_id);
        put_u32(head, 16, self.payload_len);
        put_u32(head, 20, self.flags);
        put_u64(head, 24, self.seq);
        put_u32(head, 32, frame_crc);
        put_u64(head, 40, self.durable_txn);
        let first = payload.len().min(HEAD_DATA);
        head[FRAME_HEADER..FRAME_HEADER + first].copy_from_slice(&payload[..first]);
        let crc = crc_skipping(head, 4);
        put_u32(head, 4, crc);
        for (sector, data) in rest.chunks_exact_mut(LOG_SECTOR).zip(payload[first..].chunks(SECTOR_DATA)) {
            put_u32(sector, 0, DATA_MAGIC);
            put_u32(sector, 8, frame_crc);
            sector[DATA_SECTOR_HEADER..DATA_SECTOR_HEADER + data.len()].copy_from_slice(data);
            let crc = crc_skipping(sector, 4);
            put_u32(sector, 4, crc);
        }
    }

    /// Reassemble a frame from its sectors (`sectors` holds [`FrameHeader::frame_len`] bytes,
    /// the first of them the header sector this header was read from, with frame checksum
    /// `frame_crc`).
    /// `Ok(payload)` if every sector is this frame's; `Err(Torn)` if some sector holds older
    /// bytes (a write that did not land); `Err(Damaged(i))` if sector `i` is neither.
    pub fn assemble(&self, frame_crc: u32, sectors: &[u8]) -> core::result::Result<alloc::vec::Vec<u8>, FrameFault> {
        let len = self.payload_len as usize;
        let mut payload = alloc::vec::Vec::with_capacity(len);
        let first = len.min(HEAD_DATA);
        payload.extend_from_slice(&sectors[FRAME_HEADER..FRAME_HEADER + first]);
        let mut torn = false;
        for (i, sector) in sectors.chunks_exact(LOG_SECTOR).enumerate().skip(1) {
            match LogSector::read(sector) {
                LogSector::Data { frame_crc: t } if t == frame_crc => {
                    let n = (len - payload.len()).min(SECTOR_DATA);
                    payload.extend_from_slice(&sector[DATA_SECTOR_HEADER..DATA_SECTOR_HEADER + n]);
                }
                LogSector::Damaged => return Err(FrameFault::Damaged(i)),
                _ => torn = true,
            }
        }
        // Every sector is this frame's; a frame checksum collision with another frame's sectors
        // (one in 2^32) would still show here.
        if torn || payload.len() != len || self.frame_crc(&payload) != frame_crc {
            return Err(FrameFault::Torn);
        }
        Ok(payload)
    }
}

/// Why a frame could not be reassembled (see [`FrameHeader::assemble`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// Some sector holds older bytes: the frame's write did not fully land (a crash).
    Torn,
    /// The sector at this index (from the frame's start) is damaged.
    Damaged(usize),
}

/// What one 512-byte sector of a log region holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSector {
    /// All zeros: never written since the region was zero-filled.
    Zero,
    /// The first sector of a frame.
    Header {
        /// The frame's header fields.
        header: FrameHeader,
        /// The frame's checksum (carried by all its sectors).
        frame_crc: u32,
    },
    /// A following sector of the frame with this frame checksum.
    Data {
        /// The frame's checksum.
        frame_crc: u32,
    },
    /// None of the above: a log region holds only zeros and stamped sectors, and sectors are
    /// written whole, so this is damage.
    Damaged,
}

impl LogSector {
    /// Classify one sector ([`LOG_SECTOR`] bytes).
    pub fn read(b: &[u8]) -> Self {
        debug_assert_eq!(b.len(), LOG_SECTOR);
        let magic = get_u32(b, 0);
        if (magic == FRAME_MAGIC || magic == DATA_MAGIC) && get_u32(b, 4) == crc_skipping(b, 4) {
            if magic == DATA_MAGIC {
                return LogSector::Data { frame_crc: get_u32(b, 8) };
            }
            let header = FrameHeader {
                txn_id: get_u64(b, 8),
                payload_len: get_u32(b, 16),
                flags: get_u32(b, 20),
                seq: get_u64(b, 24),
                durable_txn: get_u64(b, 40),
            };
            return LogSector::Header { header, frame_crc: get_u32(b, 32) };
        }
        if b.iter().all(|&x| x == 0) {
            LogSector::Zero
        } else {
            LogSector::Damaged
        }
    }
}

/// Format version 1's log frames, read only to upgrade a version 1 file: a 32-byte header
/// (`TLOG`, crc, txn u64, payload len u32, flags u32, seq u64) and the payload, padded to 512
/// bytes, one checksum over header and payload.
pub mod legacy {
    use super::{crc_skipping, get_u32, get_u64};

    /// Header bytes of a version 1 frame.
    pub const FRAME_HEADER: usize = 32;

    /// A version 1 frame header.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FrameHeader {
        /// The transaction the frame commits.
        pub txn_id: u64,
        /// The checkpoint sequence the log belongs to.
        pub seq: u64,
        /// Bytes of payload after the header.
        pub payload_len: u32,
        /// [`super::FRAME_CONTINUE`] or 0.
        pub flags: u32,
    }

    impl FrameHeader {
        /// Bytes the frame occupies (header + payload, padded to a sector).
        pub fn padded_len(payload_len: usize) -> usize {
            (FRAME_HEADER + payload_len).next_multiple_of(super::LOG_SECTOR)
        }

        /// Parse a header; `None` unless the magic matches.
        pub fn parse(b: &[u8]) -> Option<Self> {
            if b.len() < FRAME_HEADER || get_u32(b, 0) != super::FRAME_MAGIC {
                return None;
            }
            Some(FrameHeader {
                txn_id: get_u64(b, 8),
                seq: get_u64(b, 24),
                payload_len: get_u32(b, 16),
                flags: get_u32(b, 20),
            })
        }

        /// Whether `frame` (header + payload) passes its checksum.
        pub fn verify(frame: &[u8]) -> bool {
            frame.len() >= FRAME_HEADER && get_u32(frame, 4) == crc_skipping(frame, 4)
        }
    }
}
