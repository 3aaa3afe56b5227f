//! Unit tests of the transaction machinery that need its internals.

/// Free lists that span several pages.
mod free_list {
    use super::super::{checkpoint::*, database::*, options::*, writer::Writer};
    use crate::engine::device::MemoryDevice;
    use crate::engine::format::PAGE_HEADER;
    use crate::engine::page::PageId;
    use crate::error::Result;
    use alloc::collections::BTreeSet;
    use alloc::sync::Arc;

    /// Checkpoint a writer state whose free set is `free` (pages past everything the empty
    /// database uses), reopen, and return the free set the reopened database loaded.
    fn checkpoint_with_free(free: &BTreeSet<PageId>, next_page: PageId) -> Result<BTreeSet<PageId>> {
        let dev = Arc::new(MemoryDevice::new());
        let db = Database::open_device(dev.clone(), Options::default())?;
        let mut w = Writer::take(&db.shared)?;
        w.next_page = next_page;
        w.free = free.iter().copied().collect();
        let r = checkpoint(&db.shared, &mut w);
        drop(w);
        r?;
        drop(db);
        let db = Database::open_device(MemoryDevice::from_bytes(dev.to_bytes()), Options::default())?;
        let w = Writer::take(&db.shared)?;
        let loaded = w.free.iter().collect();
        drop(w);
        Ok(loaded)
    }

    /// The free list spans two pages until the second page it takes for itself removes a
    /// single-page run: one list page is enough after all. The list's `next` pointer must not
    /// name the page given back (it used to: the next open found "expected a free-list page").
    #[test]
    fn free_list_that_shrinks_while_taking_its_own_pages() {
        let per_page = (4096 - PAGE_HEADER) / 16;
        let base = 1000;
        // Lowest: a two-page run (the first page taken for the list leaves one page of it, the
        // second removes the run), then single pages, one more run than a list page holds.
        let mut free: BTreeSet<PageId> = [base, base + 1].into();
        free.extend((0..per_page as u64).map(|i| base + 3 + 2 * i));
        let next_page = base + 3 + 2 * per_page as u64 + 10;
        let loaded = checkpoint_with_free(&free, next_page).expect("reopen after the checkpoint");
        // Everything free before is free after, except the pages the list itself occupies.
        assert!(loaded.is_subset(&free), "loaded pages that were not free");
        assert!(free.len() - loaded.len() <= 2, "{} free pages lost", free.len() - loaded.len());
    }
}

/// Log frames at open.
mod replay {
    use super::super::{database::*, options::*};
    use crate::engine::device::MemoryDevice;
    use crate::engine::format::{self, get_u64};
    use crate::error::Error;
    use alloc::string::ToString;
    use alloc::sync::Arc;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A log frame whose checksums hold but whose operations are garbage (crafted, or written
    /// wrong): the open reports the commits from it on as lost; salvage replays the ones
    /// before it. Before, every open failed, salvage and read-only included ("log frame
    /// payload truncated").
    #[test]
    fn frame_that_does_not_replay_is_a_loss() {
        let dev = Arc::new(MemoryDevice::new());
        {
            let db = Database::open_device(dev.clone(), Options::default()).unwrap();
            for i in 0..3u8 {
                let tx = db.begin_write().unwrap();
                tx.open_table("t").unwrap().insert(&[i], b"v").unwrap();
                tx.commit().unwrap();
            }
        }
        let mut img = dev.to_bytes();
        let at = (1..img.len() / 512)
            .map(|s| s * 512)
            .find(|&o| &img[o..o + 4] == b"TLOG" && get_u64(&img, o + 8) == 2)
            .expect("the frame of transaction 2");
        let format::LogSector::Header { header, .. } = format::LogSector::read(&img[at..at + 512]) else {
            panic!("not a frame header")
        };
        let garbage = vec![0xEEu8; header.payload_len as usize];
        let mut frame = Vec::new();
        header.encode(&garbage, &mut frame);
        img[at..at + frame.len()].copy_from_slice(&frame);
        let err = Database::open_device(MemoryDevice::from_bytes(img.clone()), Options::default()).unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }) && err.to_string().contains("from 2 on"), "{err}");
        for read_only in [false, true] {
            let opts = Options { salvage: true, read_only, ..Options::default() };
            let db = Database::open_device(MemoryDevice::from_bytes(img.clone()), opts).unwrap();
            assert!(db.recovery_report().salvaged.is_some_and(|s| s.contains("cannot be replayed")));
            let rx = db.begin_read().unwrap();
            let t = rx.open_table("t").unwrap();
            assert!(t.get(&[0]).unwrap().is_some() && t.get(&[1]).unwrap().is_none());
        }
    }
}

/// The writer state's hand-off.
#[cfg(feature = "std")]
mod hand_off {
    use super::super::{database::*, options::*};

    /// A write transaction that panics mid-way gives the writer state back (undone): the next
    /// writer neither waits forever nor sees the half-made changes.
    #[test]
    fn a_panicking_writer_hands_the_state_back() {
        let db = Database::open_device(crate::engine::device::MemoryDevice::new(), Options::default()).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table("t").unwrap().insert(b"kept", b"1").unwrap();
        tx.commit().unwrap();
        let db2 = db.clone();
        let r = std::thread::spawn(move || {
            let tx = db2.begin_write().unwrap();
            let mut t = tx.open_table("t").unwrap();
            for i in 0..2000u32 {
                t.insert(&i.to_be_bytes(), &[7; 300]).unwrap();
            }
            panic!("the writer fails");
        })
        .join();
        assert!(r.is_err(), "the writer thread panicked");
        let tx = db.begin_write().expect("the writer state came back");
        let t = tx.open_table("t").unwrap();
        assert_eq!(t.len().unwrap(), 1, "the panicked transaction's writes are gone");
        drop(t);
        tx.commit().unwrap();
        assert!(db.check().unwrap().errors.is_empty());
    }
}
