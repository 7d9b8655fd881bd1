use super::*;

/// A stored certificate's metadata for store tests (site `site`, key kept).
pub(super) fn meta(id: &str, site: u64) -> CertMeta {
    CertMeta {
        id: id.into(),
        site_id: site,
        name: "n".into(),
        common_name: "cn".into(),
        serial: "01".into(),
        fingerprint_sha256: "00".into(),
        not_before: "2026-01-01T00:00:00Z".into(),
        not_after: "2027-01-01T00:00:00Z".into(),
        validity_days: 365,
        key_type: "ECC_256".into(),
        signature_algorithm: "ECDSA-SHA256".into(),
        issuer: "CA".into(),
        ca_id: "c".repeat(32),
        source: Source::Generated,
        key_stored: true,
        status: StoredStatus::Active,
        san: vec![],
        created: "2026-01-01T00:00:00Z".into(),
        updated: "2026-01-01T00:00:00Z".into(),
        revoked_at: None,
        revoke_reason: None,
        renewed_from: None,
        renewed_by: None,
        csr_sha256: None,
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What `tmp/` holds besides this process's own blank intent file, which
/// lives as long as the store handle.
fn tmp_debris(store: &Store) -> Vec<String> {
    let own = store.intents.path();
    names(&store.tmp_dir())
        .into_iter()
        .filter(|n| own.as_ref().and_then(|p| p.file_name()) != Some(std::ffi::OsStr::new(n)))
        .chain(store.leftover_intents().unwrap())
        .collect()
}

#[test]
fn insert_get_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    let id = "a".repeat(32);
    let e = store
        .insert(&lock, &meta(&id, 7), "CERT", Some("KEY"))
        .unwrap();
    assert_eq!(mode(&e.key_path()), 0o600);
    assert_eq!(mode(&e.meta_path()), 0o600);
    assert_eq!(mode(&e.cert_path()), 0o644);
    assert_eq!(mode(&e.folder), 0o700);
    let mut got = store.get(&id).unwrap().unwrap();
    assert_eq!(got, e);
    assert_eq!(store.read_key(&got).unwrap().unwrap().as_str(), "KEY");
    got.meta.status = StoredStatus::Revoked;
    store.update(&lock, &got).unwrap();
    assert_eq!(
        store.get(&id).unwrap().unwrap().meta.status,
        StoredStatus::Revoked
    );
    assert_eq!(store.list(Some(7)).unwrap().entries.len(), 1);
    store.delete(&lock, &got).unwrap();
    assert!(store.get(&id).unwrap().is_none());
    assert!(store.list(Some(7)).unwrap().entries.is_empty());
    assert!(
        names(&e.folder).is_empty(),
        "nothing left in certs/: {:?}",
        names(&e.folder)
    );
    let deleted = store.list_deleted(7).unwrap();
    assert_eq!(deleted.entries.len(), 1);
    assert_eq!(
        names(&deleted.entries[0].folder),
        vec![format!("{id}.pem"), format!("{id}.toml")]
    );
    assert!(tmp_debris(&store).is_empty(), "{:?}", tmp_debris(&store));
    // Three writes, one intent file, reused; gone with the last handle.
    assert_eq!(names(&dir.path().join("tmp")).len(), 1);
    drop(lock);
    drop(store);
    assert!(names(&dir.path().join("tmp")).is_empty());
}

#[test]
fn ids_that_could_escape_are_refused() {
    for bad in ["../../etc/passwd", "A".repeat(32).as_str(), "", "a/b"] {
        assert!(check_id(bad).is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.get("../x").is_err());
}

#[test]
fn damaged_entries_are_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    store
        .insert(&lock, &meta(&"b".repeat(32), 1), "C", None)
        .unwrap();
    let broken = dir
        .path()
        .join("sites/1/certs")
        .join(format!("{}.toml", "c".repeat(32)));
    fs::write(&broken, "garbage = [").unwrap();
    let l = store.list(None).unwrap();
    assert_eq!(l.entries.len(), 1);
    assert_eq!(l.damaged.len(), 1);
    assert_eq!(l.damaged[0].path, broken);
}

fn ids(l: &Listing) -> Vec<(String, StoredStatus, String)> {
    let mut v: Vec<_> = l
        .entries
        .iter()
        .map(|e| (e.meta.id.clone(), e.meta.status, e.meta.not_after.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn the_cache_follows_every_write_and_agrees_with_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    let a = store
        .insert(&lock, &meta(&"a".repeat(32), 1), "C", None)
        .unwrap();
    let mut b = store
        .insert(&lock, &meta(&"b".repeat(32), 1), "C", None)
        .unwrap();
    store
        .insert(&lock, &meta(&"c".repeat(32), 2), "C", None)
        .unwrap();
    b.meta.status = StoredStatus::Revoked;
    store.update(&lock, &b).unwrap();
    store.delete(&lock, &a).unwrap();
    let listed = store.list(Some(1)).unwrap();
    assert_eq!(ids(&listed), ids(&store.scan(1).unwrap()));
    assert_eq!(listed.entries.len(), 1);
    assert_eq!(listed.entries[0].meta.status, StoredStatus::Revoked);
    assert_eq!(store.list(None).unwrap().entries.len(), 2);
    assert!(dir.path().join("index/1.jsonl").exists());
}

#[test]
fn edits_outside_the_tool_are_seen_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    for c in ['a', 'b', 'c'] {
        store
            .insert(&lock, &meta(&c.to_string().repeat(32), 1), "C", None)
            .unwrap();
    }
    store.rebuild_index(&lock, 1).unwrap();
    drop(lock);
    let certs = dir.path().join("sites/1/certs");
    // Edited in place (same inode), as an operator's editor might.
    let a = certs.join(format!("{}.toml", "a".repeat(32)));
    let text = fs::read_to_string(&a)
        .unwrap()
        .replace("2027-01-01T00:00:00Z", "2001-01-01T00:00:00Z");
    fs::write(&a, text).unwrap();
    // Removed by hand.
    fs::remove_file(certs.join(format!("{}.toml", "b".repeat(32)))).unwrap();
    // Copied in by hand.
    let d = "d".repeat(32);
    let mut m = meta(&d, 1);
    m.name = "by hand".into();
    fs::write(
        certs.join(format!("{d}.toml")),
        toml::to_string(&m).unwrap(),
    )
    .unwrap();
    // A torn record at the end of the cache.
    let index = dir.path().join("index/1.jsonl");
    let mut f = fs::OpenOptions::new().append(true).open(&index).unwrap();
    std::io::Write::write_all(&mut f, b"{\"put\":{\"meta\":").unwrap();

    let listed = store.list(Some(1)).unwrap();
    assert_eq!(ids(&listed), ids(&store.scan(1).unwrap()));
    let got: Vec<_> = ids(&listed)
        .into_iter()
        .map(|(id, _, na)| (id, na))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".repeat(32), "2001-01-01T00:00:00Z".to_owned()),
            ("c".repeat(32), "2027-01-01T00:00:00Z".to_owned()),
            (d.clone(), "2027-01-01T00:00:00Z".to_owned()),
        ]
    );
}

#[test]
fn a_crashed_insert_leaves_nothing_and_a_crashed_delete_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let certs = dir.path().join("sites/1/certs");
    let (x, y) = ("e".repeat(32), "f".repeat(32));
    {
        let lock = store.lock().unwrap();
        let e = store.insert(&lock, &meta(&y, 1), "C", Some("K")).unwrap();
        // Two other writers' intent files (they died with them).
        let (first, second) = (
            journal::IntentFile::default(),
            journal::IntentFile::default(),
        );
        let tmp = dir.path().join("tmp");
        // An insert that died after writing the key, before the .toml.
        let intent = journal::Intent::write(&first, &tmp, journal::Op::Put, &[(1, &x)]).unwrap();
        fs::write(certs.join(format!("{x}.pem")), "C").unwrap();
        fs::write(certs.join(format!("{x}.key.pem")), "K").unwrap();
        fs::write(certs.join(format!(".{x}.toml.tmp-new")), "half").unwrap();
        std::mem::forget(intent);
        // A delete that died right after moving the .toml.
        let intent = journal::Intent::write(&second, &tmp, journal::Op::Del, &[(1, &y)]).unwrap();
        let deleted = dir.path().join("sites/1/deleted");
        fs::create_dir_all(&deleted).unwrap();
        fs::rename(e.meta_path(), deleted.join(format!("{y}.toml"))).unwrap();
        std::mem::forget(intent);
        std::mem::forget((first, second));
    }
    assert!(store.list(Some(1)).unwrap().entries.is_empty());
    drop(store.lock().unwrap());
    assert!(names(&certs).is_empty(), "{:?}", names(&certs));
    assert_eq!(
        names(&dir.path().join("sites/1/deleted")),
        vec![format!("{y}.pem"), format!("{y}.toml")]
    );
    assert!(tmp_debris(&store).is_empty(), "{:?}", tmp_debris(&store));
}

#[test]
fn a_crashed_batch_keeps_whole_entries_and_removes_torn_ones() {
    // A batch renames its .toml files before its one sync: after a crash
    // an entry can have its .toml and a torn certificate or key.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let certs = dir.path().join("sites/1/certs");
    let ids: Vec<String> = ["1", "2", "3", "4"].iter().map(|c| c.repeat(32)).collect();
    {
        let lock = store.lock().unwrap();
        let metas: Vec<CertMeta> = ids.iter().map(|id| meta(id, 1)).collect();
        let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";
        let items: Vec<NewEntry<'_>> = metas
            .iter()
            .map(|m| NewEntry {
                meta: m,
                cert_pem: pem,
                key_pem: Some(key),
            })
            .collect();
        store.insert_batch(&lock, &items).unwrap();
        // The crash: the batch's intent is back, one certificate is zeros,
        // one key is short, one record is empty.
        let other = journal::IntentFile::default();
        let names: Vec<(u64, &str)> = ids.iter().map(|i| (1, i.as_str())).collect();
        std::mem::forget(
            journal::Intent::write(&other, &dir.path().join("tmp"), journal::Op::Put, &names)
                .unwrap(),
        );
        std::mem::forget(other);
        fs::write(certs.join(format!("{}.pem", ids[1])), vec![0u8; pem.len()]).unwrap();
        fs::write(certs.join(format!("{}.key.pem", ids[2])), &key[..20]).unwrap();
        fs::write(certs.join(format!("{}.toml", ids[3])), "").unwrap();
    }
    drop(store.lock().unwrap());
    let kept: Vec<String> = store
        .list(Some(1))
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.meta.id)
        .collect();
    assert_eq!(kept, vec![ids[0].clone()]);
    assert_eq!(
        names(&certs),
        vec![
            format!("{}.key.pem", ids[0]),
            format!("{}.pem", ids[0]),
            format!("{}.toml", ids[0])
        ]
    );
}

#[test]
fn an_intent_file_removed_by_another_writer_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let other = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    store
        .insert(&lock, &meta(&"a".repeat(32), 1), "C", None)
        .unwrap();
    drop(lock);
    // The other handle's recovery removes every intent file but its own.
    drop(other.lock().unwrap());
    assert!(names(&dir.path().join("tmp")).is_empty());
    let lock = store.lock().unwrap();
    let e = store
        .insert(&lock, &meta(&"b".repeat(32), 1), "C", None)
        .unwrap();
    store.delete(&lock, &e).unwrap();
    assert_eq!(names(&dir.path().join("tmp")).len(), 1);
    assert!(tmp_debris(&store).is_empty(), "{:?}", tmp_debris(&store));
}

#[test]
fn a_batch_publishes_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    let metas: Vec<CertMeta> = (0..20u8)
        .map(|i| meta(&format!("{:032x}", u128::from(i) + 1), 1 + u64::from(i % 2)))
        .collect();
    let items: Vec<NewEntry<'_>> = metas
        .iter()
        .map(|m| NewEntry {
            meta: m,
            cert_pem: "C",
            key_pem: Some("K"),
        })
        .collect();
    let entries = store.insert_batch(&lock, &items).unwrap();
    assert_eq!(entries.len(), 20);
    assert_eq!(store.list(None).unwrap().entries.len(), 20);
    assert!(entries.iter().all(|e| mode(&e.key_path()) == 0o600));
    assert!(tmp_debris(&store).is_empty(), "{:?}", tmp_debris(&store));
    // An id already present is refused before anything is written.
    assert!(matches!(
        store.insert_batch(&lock, &items[..1]),
        Err(StoreError::Exists { .. })
    ));
}

#[test]
fn a_ca_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lock = store.lock().unwrap();
    let m = CaMeta {
        id: "d".repeat(32),
        site_id: 3,
        common_name: "CA".into(),
        key_type: "ECC_256".into(),
        serial: "01".into(),
        fingerprint_sha256: "00".into(),
        not_before: "x".into(),
        not_after: "y".into(),
        created: "z".into(),
    };
    store.create_ca(&lock, &m, "CERT", "KEY").unwrap();
    assert!(matches!(
        store.create_ca(&lock, &m, "CERT2", "KEY2"),
        Err(StoreError::Exists { .. })
    ));
    assert_eq!(store.load_ca(3).unwrap().unwrap().cert_pem, "CERT");
}

#[test]
fn the_sweep_for_dead_writers_runs_only_after_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let site = dir.path().join("sites/4");
    fs::create_dir_all(&site).unwrap();
    let debris = site.join(".crl.pem.tmp-1-x");
    let swept = |store: &Store| {
        fs::write(&debris, "half").unwrap();
        drop(store.lock().unwrap());
        !debris.exists()
    };
    // A store never locked (or by an older version) is swept.
    assert!(swept(&store));
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_CLEAN);
    // After a writer that finished, nobody died: no sweep, in this
    // process or another.
    assert!(!swept(&store));
    assert!(!swept(&Store::open(dir.path()).unwrap()));
    // A writer that died holding the lock left `dirty`.
    fs::write(dir.path().join(".lock"), LOCK_DIRTY).unwrap();
    assert!(swept(&Store::open(dir.path()).unwrap()));
    // One that panicked, too.
    let held = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _lock = store.lock().unwrap();
        panic!("a writer died half-way");
    }));
    assert!(held.is_err());
    assert!(swept(&store));
}

#[test]
fn a_stale_crl_mark_is_found_again_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fs::create_dir_all(dir.path().join("sites/9")).unwrap();
    fs::create_dir_all(dir.path().join("sites/3")).unwrap();
    drop(store.lock().unwrap());
    assert!(store.sites_with_stale_crl().unwrap().is_empty());
    {
        let lock = store.lock().unwrap();
        assert!(store.sites_with_stale_crl().unwrap().is_empty());
        store.mark_crl_stale(&lock, 9).unwrap();
        // The status change failed before its CRL was written.
    }
    // Not clean: another process sweeps and finds it.
    let other = Store::open(dir.path()).unwrap();
    drop(other.lock().unwrap());
    assert_eq!(other.sites_with_stale_crl().unwrap(), vec![9]);
    // This process remembers it without a sweep, until it is cleared.
    let lock = store.lock().unwrap();
    assert_eq!(store.sites_with_stale_crl().unwrap(), vec![9]);
    assert_eq!(store.sites_with_stale_crl().unwrap(), vec![9]);
    store.clear_crl_stale(&lock, 9).unwrap();
    assert!(store.sites_with_stale_crl().unwrap().is_empty());
    drop(lock);
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_CLEAN);
}

#[test]
fn a_dead_writers_stale_mark_survives_a_reader_that_took_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fs::create_dir_all(dir.path().join("sites/9")).unwrap();
    drop(store.lock().unwrap());
    // A writer died after marking the CRL stale: `dirty`, and the mark.
    fs::write(dir.path().join(".lock"), LOCK_DIRTY).unwrap();
    fs::write(dir.path().join("sites/9/crl.stale"), "").unwrap();
    // A reader rebuilding a listing cache takes the lock with try_lock
    // and regenerates no CRL: it must not say `clean`.
    let reader = Store::open(dir.path()).unwrap();
    drop(reader.try_lock().unwrap().unwrap());
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_DIRTY);
    let next = Store::open(dir.path()).unwrap();
    let _lock = next.lock().unwrap();
    assert_eq!(next.sites_with_stale_crl().unwrap(), vec![9]);
}

#[test]
fn a_lock_whose_recovery_failed_never_says_clean() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id = "a".repeat(32);
    let certs = dir.path().join("sites/9/certs");
    let deleted = dir.path().join("sites/9/deleted");
    fs::create_dir_all(&certs).unwrap();
    drop(store.lock().unwrap());
    // A dead writer's delete that recovery cannot finish: a folder sits
    // where the certificate is to be moved.
    fs::create_dir_all(deleted.join(format!("{id}.pem")).join("x")).unwrap();
    fs::write(dir.path().join(".lock"), LOCK_DIRTY).unwrap();
    fs::write(certs.join(format!("{id}.pem")), "C").unwrap();
    fs::write(deleted.join(format!("{id}.toml")), "x").unwrap();
    fs::write(dir.path().join("tmp/intent-1-x"), format!("del 9 {id}\n")).unwrap();
    assert!(Store::open(dir.path()).unwrap().lock().is_err());
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_DIRTY);
}

#[test]
fn a_mark_cleared_by_another_process_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("sites/9")).unwrap();
    let a = Store::open(dir.path()).unwrap();
    {
        let lock = a.lock().unwrap();
        a.mark_crl_stale(&lock, 9).unwrap();
    }
    let b = Store::open(dir.path()).unwrap();
    {
        let lock = b.lock().unwrap();
        assert_eq!(b.sites_with_stale_crl().unwrap(), vec![9]);
        b.clear_crl_stale(&lock, 9).unwrap();
    }
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_CLEAN);
    // `a` still remembered 9; seeing it cleared, it says `clean` again, so
    // the next locks skip the sweep.
    let lock = a.lock().unwrap();
    assert!(a.sites_with_stale_crl().unwrap().is_empty());
    drop(lock);
    assert_eq!(fs::read(dir.path().join(".lock")).unwrap(), LOCK_CLEAN);
}

#[test]
fn recovery_finishes_a_delete_before_an_older_put_of_the_same_id() {
    // An older intent's put of x came back after a power cut (its
    // blanking is not synced) beside a delete of x cut half-way.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let x = "e".repeat(32);
    let e = {
        let lock = store.lock().unwrap();
        store.insert(&lock, &meta(&x, 1), "C", Some("K")).unwrap()
    };
    let deleted = dir.path().join("sites/1/deleted");
    fs::create_dir_all(&deleted).unwrap();
    fs::rename(e.meta_path(), deleted.join(format!("{x}.toml"))).unwrap();
    // Both in one intent, the put first, so the order does not hang on
    // the order of a directory read (the two come from two files).
    fs::write(
        dir.path().join("tmp/intent-0-x"),
        format!("put 1 {x}\ndel 1 {x}\n"),
    )
    .unwrap();
    fs::write(dir.path().join(".lock"), LOCK_DIRTY).unwrap();
    drop(Store::open(dir.path()).unwrap().lock().unwrap());
    assert_eq!(
        names(&deleted),
        vec![format!("{x}.pem"), format!("{x}.toml")]
    );
    assert!(names(&dir.path().join("sites/1/certs")).is_empty());
}
