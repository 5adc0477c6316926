//! `File` against real files: buffered reads and writes, seeks matching `std::fs::File`, append
//! mode, write errors surfacing on flush, close or the next operation, and dropping mid-write.

mod common;

use std::io::{self, Read, Seek, SeekFrom, Write};

use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use reactor_fs::{File, OpenOptions};

use common::{fnv, kind_name, one_pool_thread, run, run_on, PoolHold, Rng, FNV_START};

#[test]
fn ten_mib_written_in_odd_chunks_reads_back_identical() {
    run("ten_mib", |dir| async move {
        let path = dir.join("big");
        let mut rng = Rng::new(0x5eed);
        let block = rng.bytes(300_007);
        let (total, mut written, mut hash) = (10 << 20, 0, FNV_START);
        let mut file = File::create(&path).await?;
        // Chunk sizes from 1 byte to past the 64 KiB buffer, none of them round.
        let sizes = [1, 7, 4093, 65_537, 131_071, 999, 200_003];
        let mut i = 0;
        while written < total {
            let size = sizes[i % sizes.len()].min(total - written);
            let start = (written * 31) % (block.len() - size);
            let chunk = &block[start..start + size];
            file.write_all(chunk).await?;
            hash = fnv(hash, chunk);
            written += size;
            i += 1;
        }
        file.flush().await?;
        assert_eq!(file.metadata().await?.len(), total as u64);
        drop(file);

        let mut file = File::open(&path).await?;
        let (mut read, mut read_hash, mut buf) = (0, FNV_START, vec![0; 100_003]);
        for i in 0.. {
            let n = file.read(&mut buf[..sizes[i % sizes.len()].min(100_003)]).await?;
            if n == 0 {
                break;
            }
            read_hash = fnv(read_hash, &buf[..n]);
            read += n;
        }
        assert_eq!(read, total);
        assert_eq!(read_hash, hash);
        assert_eq!(read_hash, fnv(FNV_START, &std::fs::read(&path)?));
        Ok(())
    })
}

/// One step of the sequence played on both files.
#[derive(Debug)]
enum Step {
    Read(usize),
    Write(Vec<u8>),
    Seek(SeekFrom),
    /// A read given up on after one poll, leaving read-ahead behind.
    GiveUpRead(usize),
}

/// A length from a byte to past the 64 KiB buffer, mostly small.
fn length(rng: &mut Rng) -> usize {
    let bound = if rng.below(4) == 0 { 150_000 } else { 5_000 };
    1 + rng.below(bound) as usize
}

fn steps(rng: &mut Rng, count: usize) -> Vec<Step> {
    (0..count)
        .map(|_| match rng.below(4) {
            0 => Step::Read(length(rng)),
            1 => {
                let len = length(rng);
                Step::Write(rng.bytes(len))
            }
            2 => Step::GiveUpRead(length(rng)),
            _ => Step::Seek(match rng.below(3) {
                0 => SeekFrom::Start(rng.below(300_000)),
                1 => SeekFrom::End(-(rng.below(100_000) as i64)),
                _ => SeekFrom::Current(rng.below(100_000) as i64 - 50_000),
            }),
        })
        .collect()
}

#[test]
fn seeks_reads_and_writes_interleaved_match_std() {
    run_on("seek_vs_std", one_pool_thread, |dir| async move {
        let mut rng = Rng::new(42);
        let initial = rng.bytes(200_000);
        std::fs::write(dir.join("ours"), &initial)?;
        std::fs::write(dir.join("std"), &initial)?;
        let options = || {
            let mut options = OpenOptions::new();
            options.read(true).write(true);
            options
        };
        let mut ours = options().open(dir.join("ours")).await?;
        let mut theirs = std::fs::OpenOptions::new().read(true).write(true).open(dir.join("std"))?;

        for (i, step) in steps(&mut rng, 400).into_iter().enumerate() {
            match step {
                Step::Read(len) => {
                    let mut a = Vec::new();
                    (&mut ours).take(len as u64).read_to_end(&mut a).await?;
                    let mut b = Vec::new();
                    (&mut theirs).take(len as u64).read_to_end(&mut b)?;
                    assert_eq!(a, b, "step {i}: read({len})");
                }
                Step::Write(bytes) => {
                    ours.write_all(&bytes).await?;
                    theirs.write_all(&bytes)?;
                }
                // What the one poll delivered from read-ahead, std reads too; what the pool read
                // for nobody, std does not.
                Step::GiveUpRead(len) => {
                    let delivered = abandoned_read(&mut ours, len).await?.unwrap_or(0);
                    io::copy(&mut (&mut theirs).take(delivered as u64), &mut io::sink())?;
                }
                Step::Seek(pos) => {
                    let a = ours.seek(pos).await;
                    let b = theirs.seek(pos);
                    match (a, b) {
                        (Ok(a), Ok(b)) => assert_eq!(a, b, "step {i}: {pos:?}"),
                        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "step {i}: {pos:?}"),
                        (a, b) => panic!("step {i}: {pos:?}: ours {a:?}, std {b:?}"),
                    }
                }
            }
        }
        assert_eq!(ours.seek(SeekFrom::Current(0)).await?, theirs.stream_position()?);
        ours.flush().await?;
        assert_eq!(std::fs::read(dir.join("ours"))?, std::fs::read(dir.join("std"))?);
        Ok(())
    })
}

/// Starts a read of `len` bytes and gives up on it after one poll (a `select!` or timeout that
/// lost the race), while the pool is held: a read that goes to the pool is queued, so the poll
/// cannot complete it, and the bytes it reads are for nobody. Returns what the poll delivered
/// if read-ahead could satisfy it at once.
async fn abandoned_read(file: &mut File, len: usize) -> io::Result<Option<usize>> {
    let hold = PoolHold::new();
    let mut buf = vec![0; len];
    let polled = futures_lite::future::poll_once(file.read(&mut buf)).await;
    hold.release().await; // a queued read has now run
    polled.transpose()
}

#[test]
fn a_read_given_up_on_leaves_the_position_where_it_was() {
    run_on("abandoned_read", one_pool_thread, |dir| async move {
        let path = dir.join("f");
        let content: Vec<u8> = (0..100u8).collect();
        std::fs::write(&path, &content)?;
        let mut file = OpenOptions::new().read(true).write(true).open(&path).await?;

        // A seek from the current position counts the bytes the pool read for nobody.
        assert_eq!(abandoned_read(&mut file, 40).await?, None);
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 0);
        assert_eq!(file.seek(SeekFrom::Current(5)).await?, 5);

        // The next reads get them, in order.
        assert_eq!(abandoned_read(&mut file, 40).await?, None);
        let mut two = [0; 2];
        file.read_exact(&mut two).await?;
        assert_eq!(two, [5, 6]);
        let mut rest = [0; 38];
        file.read_exact(&mut rest).await?;
        assert_eq!(rest[..], content[7..45]);

        // A write goes where the user's position is, not where the OS cursor got to.
        assert_eq!(abandoned_read(&mut file, 40).await?, None);
        file.write_all(b"ab").await?;
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 47);

        // So does `set_len`'s idea of the position, and `into_std`'s.
        assert_eq!(abandoned_read(&mut file, 40).await?, None);
        file.set_len(90).await?;
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 47);
        assert_eq!(abandoned_read(&mut file, 40).await?, None);
        let mut std = file.into_std().await?;
        assert_eq!(std.stream_position()?, 47);

        let mut expected = content;
        expected.truncate(90);
        expected[45..47].copy_from_slice(b"ab");
        let mut rest = Vec::new();
        std.read_to_end(&mut rest)?;
        assert_eq!(rest, expected[47..]);
        assert_eq!(std::fs::read(&path)?, expected);
        Ok(())
    })
}

#[test]
fn append_mode_writes_at_the_end_wherever_it_seeked() {
    run("append", |dir| async move {
        let path = dir.join("log");
        std::fs::write(&path, b"first\n")?;
        let mut log = OpenOptions::new().read(true).append(true).open(&path).await?;
        log.seek(SeekFrom::Start(0)).await?;
        log.write_all(b"second\n").await?;
        log.seek(SeekFrom::Start(2)).await?;
        log.write_all(b"third\n").await?;
        log.flush().await?;
        assert_eq!(std::fs::read(&path)?, b"first\nsecond\nthird\n");
        assert_eq!(log.seek(SeekFrom::Current(0)).await?, 19);
        Ok(())
    })
}

/// What std says of a write to `/dev/full`: its kind (`StorageFull` since Rust 1.83) and errno.
fn dev_full_error() -> io::Error {
    let mut full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    full.write_all(b"x").unwrap_err()
}

#[test]
fn flush_reports_the_error_of_a_write_that_already_returned() {
    run("flush_error", |_dir| async move {
        let expected = dev_full_error();
        let mut full = OpenOptions::new().write(true).open("/dev/full").await?;
        // Buffered: the write returns before the pool has tried it.
        assert_eq!(full.write(&[7; 1000]).await?, 1000);
        let error = full.flush().await.unwrap_err();
        assert_eq!(error.kind(), expected.kind());
        assert_eq!(kind_name(&error), "StorageFull");
        assert_eq!(error.raw_os_error(), expected.raw_os_error());
        // Reported once.
        full.flush().await?;
        Ok(())
    })
}

#[test]
fn close_reports_the_error_of_a_write_that_already_returned() {
    run("close_error", |_dir| async move {
        let mut full = OpenOptions::new().write(true).open("/dev/full").await?;
        full.write_all(&[7; 100]).await?;
        let error = full.close().await.unwrap_err();
        assert_eq!(kind_name(&error), "StorageFull");
        Ok(())
    })
}

#[test]
fn a_write_error_surfaces_on_the_next_operation_of_any_kind() {
    run("next_op_error", |_dir| async move {
        let mut full = OpenOptions::new().read(true).write(true).open("/dev/full").await?;
        full.write_all(&[1; 10]).await?;
        assert_eq!(kind_name(&full.write(&[2; 10]).await.unwrap_err()), "StorageFull");

        full.write_all(&[1; 10]).await?;
        assert_eq!(kind_name(&full.seek(SeekFrom::Start(0)).await.unwrap_err()), "StorageFull");

        full.write_all(&[1; 10]).await?;
        assert_eq!(kind_name(&full.read(&mut [0; 4]).await.unwrap_err()), "StorageFull");

        full.write_all(&[1; 10]).await?;
        assert_eq!(kind_name(&full.sync_all().await.unwrap_err()), "StorageFull");

        full.write_all(&[1; 10]).await?;
        let (file, error) = full.into_std().await.unwrap_err().into_parts();
        assert_eq!(kind_name(&error), "StorageFull");
        // Reported once: the file comes out the second time.
        file.into_std().await?;
        Ok(())
    })
}

#[test]
fn metadata_counts_every_byte_after_flush_and_set_len_resizes() {
    run("metadata_len", |dir| async move {
        let path = dir.join("f");
        let mut file = File::create_new(&path).await?;
        file.write_all(&vec![3; 200_000]).await?;
        file.flush().await?;
        assert_eq!(file.metadata().await?.len(), 200_000);
        assert_eq!(reactor_fs::metadata(&path).await?.len(), 200_000);
        file.set_len(10).await?;
        file.sync_all().await?;
        file.sync_data().await?;
        assert_eq!(file.metadata().await?.len(), 10);
        assert_eq!(file.seek(SeekFrom::Current(0)).await?, 200_000, "set_len leaves the position");
        Ok(())
    })
}

#[test]
fn into_std_gives_back_the_read_ahead() {
    run("into_std", |dir| async move {
        let path = dir.join("f");
        std::fs::write(&path, b"abcdefgh")?;
        let mut file = File::open(&path).await?;
        let mut three = [0; 3];
        file.read_exact(&mut three).await?;
        let mut std = file.into_std().await?;
        let mut rest = String::new();
        std.read_to_string(&mut rest)?;
        assert_eq!(rest, "defgh");

        std.seek(SeekFrom::Start(1))?;
        let mut file = File::from_std(std);
        file.read_exact(&mut three).await?;
        assert_eq!(&three, b"bcd");
        Ok(())
    })
}

#[test]
fn dropping_a_file_lets_its_write_in_flight_complete() {
    run_on("drop_mid_write", one_pool_thread, |dir| async move {
        let path = dir.join("f");
        let mut file = File::create(&path).await?;
        let data = Rng::new(7).bytes(100_000);
        // The last chunk is still queued on the pool when the file is dropped: not started yet,
        // so cancelling it would lose it.
        let hold = PoolHold::new();
        file.write_all(&data[..1000]).await?;
        drop(file);
        hold.release().await;
        assert_eq!(std::fs::read(&path)?, &data[..1000]);

        // And with every chunk of a bigger write.
        let mut file = File::create(&path).await?;
        file.write_all(&data).await?;
        drop(file);
        PoolHold::new().release().await;
        assert_eq!(std::fs::read(&path)?, data);
        Ok(())
    })
}

#[test]
fn a_write_cancelled_by_shutdown_is_reported_by_the_next_flush() {
    common::bounded("cancelled_write", || {
        let dir = common::TempDir::new("cancelled_write");
        let path = dir.join("f");
        let first = one_pool_thread().unwrap();
        let (file, hold) = first
            .block_on(async {
                let mut file = File::create(&path).await?;
                let hold = PoolHold::new();
                file.write_all(b"never written").await?; // queued behind the hold
                Ok::<_, io::Error>((file, hold))
            })
            .unwrap();
        // Shutdown cancels the queued write at once, then waits for the job holding the pool's
        // thread: drop it on a thread of its own, and let the hold go once shutdown has begun.
        let handle = first.handle();
        let dropping = std::thread::spawn(move || drop(first));
        while handle.try_spawn(async {}).is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        hold.let_go();
        dropping.join().unwrap();

        let second = reactor_epoll::Runtime::new().unwrap();
        let mut file = file;
        let error = second.block_on(file.flush()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
        assert!(error.to_string().contains("cancelled"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        // Reported once; the file works on the new runtime.
        second
            .block_on(async {
                file.flush().await?;
                file.write_all(b"written").await?;
                file.flush().await
            })
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"written");
    });
}

#[test]
fn one_write_or_read_moves_at_most_64_kib() {
    run("bounded_chunks", |dir| async move {
        let path = dir.join("f");
        let mut file = OpenOptions::new().read(true).write(true).create(true).open(&path).await?;
        assert_eq!(file.write(&vec![9; 1 << 20]).await?, 64 * 1024);
        file.seek(SeekFrom::Start(0)).await?;
        assert_eq!(file.read(&mut vec![0; 1 << 20]).await?, 64 * 1024);
        Ok(())
    })
}

#[test]
fn set_permissions_and_metadata_on_an_open_file() {
    run("file_permissions", |dir| async move {
        use std::os::unix::fs::PermissionsExt;
        let file = File::create(dir.join("f")).await?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).await?;
        assert_eq!(file.metadata().await?.permissions().mode() & 0o777, 0o600);
        Ok(())
    })
}
