//! The two state backends behind one interface (`incus_db::backend`): the same SQL on
//! the local SQLite file and on a live cowsql node (hosted in this process through
//! cowsql-node), the global schema migrated onto cowsql, a standalone installation
//! copied into the cluster database, and the figures recorded in docs/cluster.md.

use std::time::{Duration, Instant};

use cowsql_client::Cluster;
use incus_api::ErrorKind;
use incus_db::backend::{copy_to_cluster, migrate_global, Backend, Value};
use incus_db::Db;

const TIMEOUT: Duration = Duration::from_secs(15);

/// One in-process node per test binary at a time (node ids are per process).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Node {
    _node: cowsql_node::Node,
    address: String,
    _dir: tempfile::TempDir,
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let address = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mut n = cowsql_node::Node::create(1, &address, dir.path()).unwrap();
    n.set_bind_address(&address).unwrap();
    n.start().unwrap();
    Node {
        _node: n,
        address,
        _dir: dir,
    }
}

fn cluster(n: &Node, db: &str) -> Cluster {
    Cluster::new([n.address.clone()], db).with_retry_for(TIMEOUT)
}

fn schema(b: &mut Backend) -> Vec<Vec<Value>> {
    b.read(|tx| {
        tx.query(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL \
             AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
            &[],
        )
    })
    .unwrap()
}

/// The same statements on either backend; returns what the queries saw.
fn workload(b: &mut Backend) -> Vec<Vec<Vec<Value>>> {
    let mut seen = Vec::new();
    b.write(|tx| {
        tx.execute(
            "INSERT INTO profiles (name, description, project_id) \
             SELECT ?, ?, id FROM projects WHERE name = 'default'",
            &[Value::Text("web".into()), Value::Text("héllo".into())],
        )?;
        tx.execute(
            "INSERT INTO profiles_config (profile_id, key, value) \
             SELECT id, ?, ? FROM profiles WHERE name = 'web'",
            &[Value::Text("limits.cpu".into()), Value::Text("2".into())],
        )?;
        tx.execute(
            "INSERT INTO config (key, value) VALUES (?, ?)",
            &[
                Value::Text("images.auto_update_interval".into()),
                Value::Text("6".into()),
            ],
        )
    })
    .unwrap();
    // A uniqueness violation is a Conflict on both, and the transaction is rolled back.
    let e = b
        .write(|tx| {
            tx.execute(
                "INSERT INTO config (key, value) VALUES ('core.x', '1')",
                &[],
            )?;
            tx.execute(
                "INSERT INTO config (key, value) VALUES ('images.auto_update_interval', '7')",
                &[],
            )
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict, "{e:?}");
    // A foreign key violation is refused on both.
    let e = b
        .write(|tx| {
            tx.execute(
                "INSERT INTO profiles_config (profile_id, key, value) VALUES (999999, 'a', 'b')",
                &[],
            )
        })
        .unwrap_err();
    assert_ne!(e.kind, ErrorKind::NotFound, "{e:?}");
    for q in [
        "SELECT key, value FROM config WHERE key NOT LIKE 'core.https%' ORDER BY key",
        "SELECT p.name, p.description, c.key, c.value FROM profiles p \
         JOIN profiles_config c ON c.profile_id = p.id ORDER BY p.name, c.key",
        "SELECT count(*), typeof(1.5), 1.5, x'00ff', NULL FROM projects",
    ] {
        seen.push(b.read(|tx| tx.query(q, &[])).unwrap());
    }
    seen
}

#[test]
fn same_sql_same_results_on_both_backends() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = node();
    let dir = tempfile::tempdir().unwrap();
    let mut local = Backend::Local(Db::open(&dir.path().join("incus.db")).unwrap());
    let mut c = cluster(&n, "incus.db");
    assert_eq!(
        migrate_global(&mut c).unwrap(),
        incus_db::schema::MIGRATIONS.len()
    );
    // Migrating again is a no-op.
    assert_eq!(
        migrate_global(&mut c).unwrap(),
        incus_db::schema::MIGRATIONS.len()
    );
    let mut remote = Backend::Cowsql(c);

    assert_eq!(
        schema(&mut local),
        schema(&mut remote),
        "the same schema on both"
    );
    let a = workload(&mut local);
    let b = workload(&mut remote);
    assert_eq!(a, b);
    assert_eq!(a[1].len(), 1);
    assert_eq!(a[2][0][4], Value::Null);
}

#[test]
fn a_standalone_installation_is_copied_into_the_cluster_database() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = node();
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("incus.db")).unwrap();
    db.write(|tx| {
        incus_db::server_config_set(tx, "core.https_address", Some("127.0.0.1:8443"))?;
        incus_db::server_config_set(tx, "images.remote_cache_expiry", Some("3"))?;
        let p = incus_db::ProfileRow {
            id: 0,
            name: "big".into(),
            description: "a profile".into(),
            config: [("limits.memory".to_string(), "1GiB".to_string())].into(),
            devices: Default::default(),
        };
        incus_db::profile_create(tx, "default", &p)
    })
    .unwrap();
    let mut c = cluster(&n, "incus.db");
    migrate_global(&mut c).unwrap();
    let counts = copy_to_cluster(&mut db, &mut c).unwrap();
    assert!(
        counts.iter().any(|(t, n)| t == "profiles" && *n == 2),
        "{counts:?}"
    );
    let mut remote = Backend::Cowsql(c);
    let rows = remote
        .read(|tx| tx.query("SELECT key, value FROM config ORDER BY key", &[]))
        .unwrap();
    // The member-local key stayed out of the replicated config.
    assert_eq!(
        rows,
        vec![vec![
            Value::Text("images.remote_cache_expiry".into()),
            Value::Text("3".into())
        ]]
    );
    let rows = remote
        .read(|tx| {
            tx.query(
                "SELECT c.value FROM profiles p JOIN profiles_config c ON c.profile_id = p.id \
                 WHERE p.name = 'big' AND c.key = 'limits.memory'",
                &[],
            )
        })
        .unwrap();
    assert_eq!(rows, vec![vec![Value::Text("1GiB".into())]]);
    // A second copy (a migration run again after a crash) gives the same result.
    let mut c = match remote {
        Backend::Cowsql(c) => c,
        Backend::Local(_) => unreachable!(),
    };
    assert_eq!(copy_to_cluster(&mut db, &mut c).unwrap(), counts);
    let n: Vec<_> = c.query("SELECT count(*) FROM profiles", &[]).unwrap().rows;
    assert_eq!(n, vec![vec![Value::Integer(2)]]);
}

fn time<T>(n: u32, mut f: impl FnMut(u32) -> T) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed() / n
}

/// Figures for docs/cluster.md (printed; run with --nocapture): a write and a read on
/// the standalone path (`Db::write`/`Db::read` and the query functions, exactly as the
/// tools run them), through the interface on the local file, and through cowsql.
#[test]
fn figures() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = node();
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("incus.db")).unwrap();
    let w = time(200, |i| {
        db.write(|tx| incus_db::server_config_set(tx, "user.bench", Some(&i.to_string())))
            .unwrap()
    });
    let r = time(200, |_| db.read(incus_db::server_config).unwrap());
    println!("standalone Db (query functions): write {w:?} read {r:?}");
    let mut local = Backend::Local(db);
    let upsert = "INSERT INTO config (key, value) VALUES (?, ?) \
                  ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    let (w, r) = bench(&mut local, upsert);
    println!("Backend::Local (SqlTx): write {w:?} read {r:?}");
    let mut c = cluster(&n, "incus.db");
    migrate_global(&mut c).unwrap();
    let mut remote = Backend::Cowsql(c);
    let (w, r) = bench(&mut remote, upsert);
    println!("Backend::Cowsql (one node, TCP loopback): write {w:?} read {r:?}");
}

fn bench(b: &mut Backend, upsert: &str) -> (Duration, Duration) {
    let w = time(100, |i| {
        b.write(|tx| {
            tx.execute(
                upsert,
                &[Value::Text("user.bench".into()), Value::Text(i.to_string())],
            )
        })
        .unwrap()
    });
    let r = time(100, |_| {
        b.read(|tx| tx.query("SELECT key, value FROM config", &[]))
            .unwrap()
    });
    (w, r)
}
