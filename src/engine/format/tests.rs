//! Round trips and damage detection of the format's codecs.

use super::*;
use crate::error::Error;

#[test]
fn header_round_trip_and_damage() {
    let mut b = [0u8; 64];
    let h = FileHeader { page_size: 4096, version: FORMAT_VERSION, flags: HEADER_CREATING };
    h.encode(&mut b);
    assert_eq!(FileHeader::decode(&b).unwrap(), h);
    b[13] ^= 1;
    assert!(matches!(FileHeader::decode(&b), Err(Error::Corrupted { page: 0, .. })));
    assert!(matches!(FileHeader::decode(b"garbage"), Err(Error::NotADatabase(_))));
    FileHeader { page_size: 4096, version: FORMAT_VERSION + 1, flags: 0 }.encode(&mut b);
    assert_eq!(FileHeader::decode(&b), Err(Error::UnsupportedVersion(FORMAT_VERSION + 1)));
    FileHeader { page_size: 4096, version: FORMAT_VERSION, flags: 2 }.encode(&mut b);
    assert!(matches!(FileHeader::decode(&b), Err(Error::Corrupted { .. })));
}

#[test]
fn slot_round_trip_and_torn() {
    let s = CommitSlot {
        seq: 7,
        txn_id: 9,
        catalog_root: 3,
        freelist_head: 0,
        page_count: 99,
        log_start: 1,
        log_pages: 64,
    };
    let mut b = s.encode();
    assert_eq!(CommitSlot::decode(&b), Some(s));
    b[40] ^= 0x80;
    assert_eq!(CommitSlot::decode(&b), None);
    assert_eq!(CommitSlot::decode(&[0u8; SLOT_LEN]), None);
}

fn frame(payload_len: usize, seed: u8) -> (FrameHeader, alloc::vec::Vec<u8>, alloc::vec::Vec<u8>) {
    let payload: alloc::vec::Vec<u8> = (0..payload_len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
    let h = FrameHeader { txn_id: 5, seq: 2, payload_len: payload_len as u32, flags: 0, durable_txn: 4 };
    let mut out = alloc::vec::Vec::new();
    h.encode(&payload, &mut out);
    (h, payload, out)
}

#[test]
fn frame_round_trip_every_length() {
    for len in [0, 1, 463, 464, 465, 959, 960, 961, 5000] {
        let (h, payload, out) = frame(len, 1);
        assert_eq!(out.len(), FrameHeader::frame_len(len), "len {len}");
        let LogSector::Header { header, frame_crc } = LogSector::read(&out[..LOG_SECTOR]) else { panic!("len {len}") };
        assert_eq!(header, h);
        for s in out.chunks_exact(LOG_SECTOR).skip(1) {
            assert_eq!(LogSector::read(s), LogSector::Data { frame_crc });
        }
        assert_eq!(header.assemble(frame_crc, &out), Ok(payload), "len {len}");
    }
}

#[test]
fn frame_sectors_tell_torn_from_damaged() {
    let (_, _, new) = frame(2000, 1);
    let (_, _, old) = frame(2000, 9);
    let LogSector::Header { header, frame_crc } = LogSector::read(&new[..LOG_SECTOR]) else { panic!() };
    for i in 1..new.len() / LOG_SECTOR {
        let range = i * LOG_SECTOR..(i + 1) * LOG_SECTOR;
        // The sector still holds zeros, or another frame's bytes: the write did not land.
        for before in [&[0u8; LOG_SECTOR][..], &old[range.clone()]] {
            let mut f = new.clone();
            f[range.clone()].copy_from_slice(before);
            assert_eq!(header.assemble(frame_crc, &f), Err(FrameFault::Torn), "sector {i}");
        }
        // One flipped bit anywhere in it: damage.
        for bit in [0, 37, 100 * 8 + 3, LOG_SECTOR * 8 - 1] {
            let mut f = new.clone();
            f[range.start + bit / 8] ^= 1 << (bit % 8);
            assert_eq!(header.assemble(frame_crc, &f), Err(FrameFault::Damaged(i)), "sector {i} bit {bit}");
        }
    }
    let mut head = new[..LOG_SECTOR].to_vec();
    head[45] ^= 0x10;
    assert_eq!(LogSector::read(&head), LogSector::Damaged);
    assert_eq!(LogSector::read(&[0u8; LOG_SECTOR]), LogSector::Zero);
}

#[test]
fn slot_copies() {
    let s = CommitSlot { seq: 3, ..Default::default() };
    assert_eq!(SlotCopy::read(&s.encode()), SlotCopy::Valid(s));
    assert_eq!(SlotCopy::read(&[0u8; SLOT_LEN]), SlotCopy::Blank);
    let mut b = s.encode();
    b[20] ^= 1;
    assert_eq!(SlotCopy::read(&b), SlotCopy::Damaged);
}
