//! The free functions and `read_dir` against real files, the exact error kinds of bad input, and
//! many tasks sharing the blocking pool.

mod common;

use std::collections::BTreeSet;
use std::io;

use futures_lite::{AsyncReadExt, StreamExt};
use reactor_fs::{File, OpenOptions};

use common::{bounded, kind_name, run, run_on, PoolHold, Rng};

fn two_pool_threads() -> io::Result<reactor_epoll::Runtime> {
    reactor_epoll::Runtime::builder().max_blocking_threads(2).build()
}

#[test]
fn every_function_does_what_its_std_counterpart_does() {
    run("functions", |dir| async move {
        let a = dir.join("a");
        reactor_fs::write(&a, b"contents").await?;
        assert_eq!(reactor_fs::read(&a).await?, b"contents");
        assert_eq!(reactor_fs::read_to_string(&a).await?, "contents");
        assert_eq!(reactor_fs::metadata(&a).await?.len(), 8);
        assert!(reactor_fs::try_exists(&a).await?);
        assert!(!reactor_fs::try_exists(dir.join("nothing")).await?);

        assert_eq!(reactor_fs::copy(&a, dir.join("b")).await?, 8);
        reactor_fs::rename(dir.join("b"), dir.join("c")).await?;
        reactor_fs::hard_link(dir.join("c"), dir.join("d")).await?;
        assert_eq!(reactor_fs::read(dir.join("d")).await?, b"contents");
        reactor_fs::remove_file(dir.join("c")).await?;
        assert!(!reactor_fs::try_exists(dir.join("c")).await?);

        std::os::unix::fs::symlink(&a, dir.join("link"))?;
        assert_eq!(reactor_fs::read_link(dir.join("link")).await?, a);
        assert!(reactor_fs::symlink_metadata(dir.join("link")).await?.file_type().is_symlink());
        assert!(reactor_fs::metadata(dir.join("link")).await?.is_file());
        assert_eq!(reactor_fs::canonicalize(dir.join("link")).await?, std::fs::canonicalize(&a)?);

        let mut permissions = reactor_fs::metadata(&a).await?.permissions();
        permissions.set_readonly(true);
        reactor_fs::set_permissions(&a, permissions).await?;
        assert!(reactor_fs::metadata(&a).await?.permissions().readonly());

        reactor_fs::create_dir(dir.join("sub")).await?;
        reactor_fs::create_dir_all(dir.join("sub/x/y/z")).await?;
        reactor_fs::write(dir.join("sub/x/y/z/file"), b"").await?;
        reactor_fs::remove_dir(dir.join("sub/x/y/z")).await.unwrap_err();
        reactor_fs::remove_dir_all(dir.join("sub")).await?;
        assert!(!reactor_fs::try_exists(dir.join("sub")).await?);
        Ok(())
    })
}

#[test]
fn read_dir_streams_a_thousand_entries() {
    run("read_dir", |dir| async move {
        let mut expected = BTreeSet::new();
        for i in 0..1000 {
            let name = format!("entry-{i:04}");
            std::fs::write(dir.join(&name), i.to_string())?;
            expected.insert(name);
        }
        std::fs::create_dir(dir.join("a-directory"))?;
        expected.insert("a-directory".to_owned());

        let mut seen = BTreeSet::new();
        let mut entries = reactor_fs::read_dir(dir.path()).await?;
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            assert_eq!(entry.path(), dir.path().join(entry.file_name()));
            let name = entry.file_name().into_string().unwrap();
            let is_dir = name == "a-directory";
            assert_eq!(entry.file_type().await?.is_dir(), is_dir);
            assert_eq!(entry.metadata().await?.is_dir(), is_dir);
            assert!(seen.insert(name), "an entry came twice");
        }
        assert_eq!(seen, expected);
        // Ended streams stay ended.
        assert!(entries.next().await.is_none());
        Ok(())
    })
}

#[test]
fn read_dir_reads_entries_in_batches_not_one_pool_trip_each() {
    run_on("read_dir_batches", common::one_pool_thread, |dir| async move {
        for i in 0..100 {
            std::fs::write(dir.join(&format!("e{i}")), b"")?;
        }
        let mut entries = reactor_fs::read_dir(dir.path()).await?;
        let (mut count, mut trips) = (0, 0);
        loop {
            // While the pool is held, whatever a poll gets at once came from a batch already
            // read; the first poll that finds none queues a trip to the pool.
            let hold = PoolHold::new();
            let mut ended = false;
            while let Some(entry) = futures_lite::future::poll_once(entries.next()).await {
                match entry {
                    Some(entry) => drop(entry?),
                    None => {
                        ended = true;
                        break;
                    }
                }
                count += 1;
            }
            hold.release().await; // the queued trip has run
            if ended {
                break;
            }
            trips += 1;
        }
        assert_eq!(count, 100);
        // 32 entries a trip: 4 trips (not 100).
        assert!(trips <= 5, "{trips} trips to the pool for 100 entries");
        Ok(())
    })
}

#[test]
fn bad_input_fails_with_the_kind_std_gives() {
    run("bad_input", |dir| async move {
        let missing = dir.join("missing");
        assert_eq!(File::open(&missing).await.unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(reactor_fs::read(&missing).await.unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(reactor_fs::metadata(&missing).await.unwrap_err().kind(), io::ErrorKind::NotFound);
        let in_missing_dir = dir.join("no-such-dir/file");
        assert_eq!(File::create(&in_missing_dir).await.unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(
            reactor_fs::create_dir(&in_missing_dir).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(reactor_fs::read_dir(&missing).await.unwrap_err().kind(), io::ErrorKind::NotFound);

        // A directory read as a file: EISDIR, `IsADirectory` (named by std since Rust 1.83).
        let error = reactor_fs::read(dir.path()).await.unwrap_err();
        assert_eq!(error.kind(), std::fs::read(dir.path()).unwrap_err().kind());
        assert_eq!(kind_name(&error), "IsADirectory");
        let mut opened = File::open(dir.path()).await?; // open(2) allows it; read(2) does not
        let error = opened.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(kind_name(&error), "IsADirectory");

        std::fs::write(dir.join("file"), b"x")?;
        let error = reactor_fs::remove_dir(dir.path()).await.unwrap_err();
        assert_eq!(kind_name(&error), "DirectoryNotEmpty");
        let error = File::create_new(dir.join("file")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        let error = reactor_fs::read_link(dir.join("file")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        // No access mode, or `create` without `write`: refused by std before any syscall.
        let error = OpenOptions::new().open(dir.join("file")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let error = OpenOptions::new().read(true).create(true).open(dir.join("new")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        // Resizing a file open only for reading: ftruncate gives EINVAL.
        let mut read_only = File::open(dir.join("file")).await?;
        let error = read_only.set_len(0).await.unwrap_err();
        let std_error = std::fs::File::open(dir.join("file"))?.set_len(0).unwrap_err();
        assert_eq!(error.kind(), std_error.kind());
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        // A file not UTF-8.
        std::fs::write(dir.join("binary"), [0xff, 0xfe])?;
        let error = reactor_fs::read_to_string(dir.join("binary")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        Ok(())
    })
}

#[test]
fn outside_an_executor_every_call_fails_with_not_found_and_says_why() {
    bounded("outside", || {
        let error = futures_lite::future::block_on(reactor_fs::read("/etc/hostname")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("needs a reactor executor"), "{error}");

        // A file opened inside one, used outside: the operation fails, nothing changes.
        let path = std::env::temp_dir().join(format!("reactor-fs-outside-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let mut file = File::from_std(std::fs::File::open(&path).unwrap());
        let error = futures_lite::future::block_on(file.read(&mut [0; 3])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        let runtime = reactor_epoll::Runtime::new().unwrap();
        let mut text = String::new();
        runtime.block_on(file.read_to_string(&mut text)).unwrap();
        assert_eq!(text, "abc");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn many_tasks_read_different_files_at_once_on_a_pool_of_two_threads() {
    run_on("concurrent", two_pool_threads, |dir| async move {
        let mut rng = Rng::new(99);
        let mut contents = Vec::new();
        for i in 0..32 {
            let data = rng.bytes(20_000 + i * 1_013);
            std::fs::write(dir.join(&format!("f{i}")), &data)?;
            contents.push(data);
        }
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let path = dir.join(&format!("f{i}"));
                reactor_epoll::Handle::current().unwrap().spawn(async move {
                    let mut file = File::open(path).await?;
                    let mut data = Vec::new();
                    let mut chunk = [0; 4096];
                    loop {
                        let n = file.read(&mut chunk).await?;
                        if n == 0 {
                            return Ok::<_, io::Error>(data);
                        }
                        data.extend_from_slice(&chunk[..n]);
                    }
                })
            })
            .collect();
        for (task, expected) in tasks.into_iter().zip(contents) {
            assert_eq!(task.await.unwrap()?, expected);
        }
        Ok(())
    })
}

#[test]
fn files_and_streams_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<File>();
    send_sync::<OpenOptions>();
    send::<reactor_fs::ReadDir>();
    send_sync::<reactor_fs::DirEntry>();
    send_sync::<reactor_fs::IntoStdError>();
}
