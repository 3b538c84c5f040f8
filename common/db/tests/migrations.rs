//! The schema is append-only: a database built step by step equals a fresh one, and
//! data written at an older version survives the upgrade.

use incus_db::{schema::MIGRATIONS, Db};

#[test]
fn stepwise_migration_equals_fresh_schema() {
    let fresh = Db::open_in_memory().unwrap();
    assert_eq!(fresh.schema_version().unwrap(), MIGRATIONS.len());
    for start in 0..MIGRATIONS.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        {
            // Build an old database directly at version `start`.
            let conn = rusqlite::Connection::open(&path).unwrap();
            for step in &MIGRATIONS[..start] {
                conn.execute_batch(step).unwrap();
            }
            conn.execute_batch(&format!("PRAGMA user_version = {start}"))
                .unwrap();
        }
        let upgraded = Db::open(&path).unwrap();
        assert_eq!(upgraded.schema_version().unwrap(), MIGRATIONS.len());
        assert_eq!(
            upgraded.schema_dump().unwrap(),
            fresh.schema_dump().unwrap(),
            "upgrade from version {start} differs from a fresh schema"
        );
    }
}

#[test]
fn checked_in_schema_matches() {
    // schema.sql is the reviewed picture of the current schema; regenerate it with
    // `cargo xtask gen` when a migration is added.
    let fresh = Db::open_in_memory().unwrap();
    let expected = include_str!("../schema.sql");
    assert_eq!(
        fresh.schema_dump().unwrap(),
        expected,
        "common/db/schema.sql is stale: run `cargo xtask gen`"
    );
}

#[test]
fn newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 9999").unwrap();
    }
    let err = Db::open(&path).err().expect("must refuse");
    assert_eq!(err.kind, incus_api::ErrorKind::Unsupported);
}

#[test]
fn default_project_exists() {
    let mut db = Db::open_in_memory().unwrap();
    db.read(|tx| incus_db::project_id(tx, "default")).unwrap();
}

#[test]
fn snapshots_are_listed_per_instance_in_one_pass() {
    let mut db = Db::open_in_memory().unwrap();
    let grouped = db
        .write(|tx| {
            let mut ids = Vec::new();
            for name in ["c1", "c2"] {
                let row = incus_db::InstanceRow {
                    name: name.into(),
                    project: "default".into(),
                    instance_type: "container".into(),
                    architecture: "x86_64".into(),
                    created_at: "2026-01-01T00:00:00Z".into(),
                    last_used_at: "1970-01-01T00:00:00Z".into(),
                    ..Default::default()
                };
                ids.push(incus_db::instance_create(tx, &row)?);
            }
            for (id, snap, at) in [
                (ids[0], "snap1", "2026-01-02T00:00:00Z"),
                (ids[0], "snap0", "2026-01-01T00:00:00Z"),
                (ids[1], "only", "2026-01-03T00:00:00Z"),
            ] {
                incus_db::snapshot_create(
                    tx,
                    &incus_db::SnapshotRow {
                        instance_id: id,
                        name: snap.into(),
                        created_at: at.into(),
                        expires_at: "0001-01-01T00:00:00Z".into(),
                        config: [("limits.cpu".to_string(), "1".to_string())].into(),
                        ..Default::default()
                    },
                )?;
            }
            Ok((ids, incus_db::snapshot_list_all(tx)?))
        })
        .unwrap();
    let (ids, all) = grouped;
    let names = |id: i64| -> Vec<String> { all[&id].iter().map(|s| s.name.clone()).collect() };
    assert_eq!(names(ids[0]), ["snap0", "snap1"], "ordered by creation");
    assert_eq!(names(ids[1]), ["only"]);
    assert_eq!(all[&ids[0]][0].config["limits.cpu"], "1");
}

/// Marks written before disk work are committed with `synchronous=FULL` (the WAL is
/// fsynced before the commit returns); everything else stays NORMAL.
#[test]
fn durable_writes_commit_with_synchronous_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("local.db")).unwrap();
    assert_eq!(db.synchronous().unwrap(), 1, "NORMAL by default");
    let inside: i64 = db
        .write_durable(|tx| {
            tx.query_row("PRAGMA synchronous", [], |r| r.get(0))
                .map_err(|e| incus_api::Error::internal(e.to_string()))
        })
        .unwrap();
    assert_eq!(inside, 2, "FULL inside a durable write");
    assert_eq!(db.synchronous().unwrap(), 1, "NORMAL again after it");
    // A failed durable write puts NORMAL back too.
    let failed: incus_api::Result<()> = db.write_durable(|_| Err(incus_api::Error::invalid("no")));
    assert!(failed.is_err());
    assert_eq!(db.synchronous().unwrap(), 1);
}
