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

/// A database made by schema version 2 (before projects could be created), holding an
/// instance with a snapshot, a custom volume, an image with an alias and a network,
/// upgrades with every row in `default`, which gets upstream's features; a second
/// project may then reuse every name.
#[test]
fn version_2_database_upgrades_into_the_default_project() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("local.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..2] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO storage_pools (name, driver) VALUES ('p1', 'dir');
             INSERT INTO instances (name, project_id, architecture, creation_date, pool)
                 VALUES ('c1', 1, 'x86_64', '2026-01-01T00:00:00Z', 'p1');
             INSERT INTO instances_snapshots (instance_id, name, creation_date)
                 VALUES (1, 's1', '2026-01-01T00:00:00Z');
             INSERT INTO storage_volumes (name, storage_pool_id, type, project_id, creation_date)
                 VALUES ('c1', 1, 'container', 1, '2026-01-01T00:00:00Z'),
                        ('v1', 1, 'custom', 1, '2026-01-01T00:00:00Z');
             INSERT INTO images (fingerprint, size, architecture, creation_date, upload_date, project_id)
                 VALUES ('abcd', 1, 'x86_64', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 1);
             INSERT INTO images_aliases (name, image_id, project_id) VALUES ('a1', 1, 1);
             INSERT INTO networks (name, project_id) VALUES ('n1', 1);",
        )
        .unwrap();
    }
    let mut db = Db::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), MIGRATIONS.len());
    db.write(|tx| {
        let p = incus_db::project_get(tx, "default")?.expect("default");
        for f in [
            "features.images",
            "features.networks",
            "features.networks.zones",
            "features.profiles",
            "features.storage.buckets",
            "features.storage.volumes",
        ] {
            assert_eq!(p.config.get(f).map(String::as_str), Some("true"), "{f}");
        }
        let inst = incus_db::instance_get(tx, "default", "c1")?.expect("c1");
        assert_eq!(inst.project, "default");
        assert_eq!(incus_db::snapshot_list(tx, inst.id)?.len(), 1);
        let vols = incus_db::volume_list(tx, Some("p1"), Some("default"))?;
        assert_eq!(vols.len(), 2);
        assert!(vols.iter().all(|v| v.project == "default"));
        let img = incus_db::image_get(tx, "default", "abcd")?.expect("image");
        assert_eq!(img.project, "default");
        assert!(incus_db::alias_get(tx, "default", "a1")?.is_some());
        assert_eq!(
            incus_db::network_get(tx, "default", "n1")?.unwrap().project,
            "default"
        );
        assert_eq!(
            incus_db::project_used_by(tx, p.id, "default")?,
            [
                "/1.0/instances/c1",
                "/1.0/images/abcd",
                "/1.0/networks/n1",
                "/1.0/profiles/default",
                "/1.0/storage-pools/p1/volumes/custom/v1",
            ]
        );
        // A second project with its own features reuses the names (unique per project).
        let config: incus_api::Config = [
            ("features.images", "true"),
            ("features.profiles", "true"),
            ("features.storage.volumes", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let pid = incus_db::project_create(
            tx,
            &incus_db::ProjectRow {
                name: "p2".into(),
                config,
                ..Default::default()
            },
        )?;
        incus_db::instance_create(
            tx,
            &incus_db::InstanceRow {
                name: "c1".into(),
                project: "p2".into(),
                instance_type: "container".into(),
                architecture: "x86_64".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                last_used_at: "1970-01-01T00:00:00Z".into(),
                ..Default::default()
            },
        )?;
        incus_db::volume_create(
            tx,
            &incus_db::VolumeRow {
                pool: "p1".into(),
                name: "v1".into(),
                volume_type: "custom".into(),
                content_type: "filesystem".into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                project: "p2".into(),
                ..Default::default()
            },
        )?;
        assert_eq!(incus_db::project_count(tx, pid, "instances")?, 1);
        assert_eq!(incus_db::project_count(tx, pid, "storage.volumes")?, 1);
        // Networks are off in p2: it sees default's.
        assert_eq!(
            incus_db::feature_project(tx, "p2", "features.networks")?.1,
            "default"
        );
        assert_eq!(incus_db::network_list(tx, "p2")?.len(), 1);
        // Deleting the project takes its rows with it, and nothing of default.
        incus_db::project_delete(tx, pid)?;
        assert!(incus_db::instance_get(tx, "default", "c1")?.is_some());
        assert_eq!(incus_db::volume_list(tx, None, None)?.len(), 2);
        Ok(())
    })
    .unwrap();
}
