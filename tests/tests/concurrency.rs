//! Many tools at once on one installation: SQLite in WAL mode with `BEGIN IMMEDIATE`
//! and per-object locks must let every command through (no "database is locked", no
//! Busy), and leave rows and disk in agreement. Plain threads spawning processes; no
//! sleeps.

use incus_tests::{busybox_images, exit, list_dir, Output, TestEnv};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Barrier;

const WORKERS: usize = 8;
const PER_WORKER: usize = 10;

/// Fails on anything that smells of lock trouble, whatever the exit code.
#[track_caller]
fn no_lock_trouble(o: &Output) {
    let s = o.stderr.to_lowercase();
    assert!(
        !s.contains("locked") && !s.contains("busy") && o.code != exit::BUSY,
        "`{}` hit lock trouble (exit {}): {}",
        o.cmdline,
        o.code,
        o.stderr
    );
}

#[test]
fn parallel_create_and_delete() {
    let env = TestEnv::initialized();
    let img = busybox_images("parallel_create_and_delete (image part)");
    env.import(&[&img.unified], "bb");
    let barrier = Barrier::new(WORKERS);
    let results: Vec<Vec<Output>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let env = &env;
                let barrier = &barrier;
                s.spawn(move || {
                    let mut outs = Vec::new();
                    barrier.wait();
                    for j in 0..PER_WORKER {
                        let name = format!("w{w}-c{j}");
                        // Every fifth instance comes from the image.
                        let o = if j % 5 == 0 {
                            env.run("incus-instance", &["create", "bb", &name])
                        } else {
                            env.run("incus-instance", &["create", "--empty", &name])
                        };
                        outs.push(o);
                        outs.push(env.run(
                            "incus-instance",
                            &["config", "set", &name, &format!("user.worker={w}")],
                        ));
                        if j % 3 == 0 {
                            outs.push(env.run("incus-instance", &["list", "--format", "json"]));
                        }
                    }
                    // Delete the even ones, one command each, and two at once.
                    let even: Vec<String> = (0..PER_WORKER)
                        .step_by(2)
                        .map(|j| format!("w{w}-c{j}"))
                        .collect();
                    for n in &even[..even.len() - 2] {
                        outs.push(env.run("incus-instance", &["delete", n]));
                    }
                    let last_two: Vec<&str> =
                        even[even.len() - 2..].iter().map(String::as_str).collect();
                    let mut args = vec!["delete"];
                    args.extend(last_two);
                    outs.push(env.run("incus-instance", &args));
                    outs
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut commands = 0;
    for outs in &results {
        for o in outs {
            no_lock_trouble(o);
            assert_eq!(o.code, 0, "`{}` failed: {}", o.cmdline, o.stderr);
            commands += 1;
        }
    }
    assert!(commands >= WORKERS * PER_WORKER * 2);

    // Exactly the odd ones remain, in the list, on disk and in the database.
    let mut expected: Vec<String> = (0..WORKERS)
        .flat_map(|w| {
            (1..PER_WORKER)
                .step_by(2)
                .map(move |j| format!("w{w}-c{j}"))
        })
        .collect();
    expected.sort();
    assert_eq!(env.instance_names(), expected);
    assert_eq!(env.container_dirs("default"), expected);
    assert_eq!(list_dir(&env.incus_dir.join("containers")), expected);
    assert_eq!(env.db_rows("instances"), expected.len() as i64);
    assert_eq!(env.db_rows("storage_volumes"), expected.len() as i64);
    let pending: i64 = env
        .db()
        .query_row(
            "SELECT COUNT(*) FROM instances WHERE pending != 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 0, "no instance is left pending");

    // Each kept its own key, and no two share an id range.
    let list = env.json("incus-instance", &["list", "--format", "json"]);
    let mut bases = BTreeSet::new();
    for i in list.as_array().unwrap() {
        let name = i["name"].as_str().unwrap();
        let w = &name[1..name.find('-').unwrap()];
        assert_eq!(i["config"]["user.worker"], w, "{name}");
        let base = i["config"]["volatile.idmap.base"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            bases.insert(base.clone()),
            "{name}: idmap base {base} given twice"
        );
    }
    // The image-made ones have their rootfs (j = 5 is odd and from the image).
    for w in 0..WORKERS {
        let rootfs = env
            .incus_dir
            .join(format!("storage-pools/default/containers/w{w}-c5/rootfs"));
        assert!(rootfs.join("bin/busybox").is_file(), "{}", rootfs.display());
    }
}

/// Everyone races for the same names: each name is created exactly once, the others
/// get a clean conflict (4); then everyone races to delete them: one success each,
/// the others a clean not-found (3).
#[test]
fn racing_for_the_same_names() {
    let env = TestEnv::initialized();
    let names: Vec<String> = (0..5).map(|i| format!("same-{i}")).collect();
    let barrier = Barrier::new(WORKERS);
    let race = |verb: &'static str| -> BTreeMap<String, Vec<i32>> {
        let outs: Vec<Output> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..WORKERS)
                .map(|w| {
                    let env = &env;
                    let barrier = &barrier;
                    let names = &names;
                    s.spawn(move || {
                        barrier.wait();
                        // Each worker walks the names from a different start.
                        (0..names.len())
                            .map(|k| {
                                let n = &names[(k + w) % names.len()];
                                match verb {
                                    "create" => {
                                        env.run("incus-instance", &["create", "--empty", n])
                                    }
                                    _ => env.run("incus-instance", &["delete", n]),
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut by_name: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for o in outs {
            no_lock_trouble(&o);
            let name = o.cmdline.rsplit(' ').next().unwrap().to_string();
            by_name.entry(name).or_default().push(o.code);
        }
        by_name
    };
    let created = race("create");
    for (name, codes) in &created {
        assert_eq!(
            codes.iter().filter(|c| **c == 0).count(),
            1,
            "{name}: {codes:?}"
        );
        assert!(
            codes.iter().all(|c| *c == 0 || *c == exit::CONFLICT),
            "{name}: losers get exit 4: {codes:?}"
        );
    }
    assert_eq!(env.instance_names(), names);
    assert_eq!(env.container_dirs("default"), names);
    let deleted = race("delete");
    for (name, codes) in &deleted {
        assert_eq!(
            codes.iter().filter(|c| **c == 0).count(),
            1,
            "{name}: {codes:?}"
        );
        assert!(
            codes.iter().all(|c| *c == 0 || *c == exit::NOT_FOUND),
            "{name}: losers get exit 3: {codes:?}"
        );
    }
    assert!(env.instance_names().is_empty());
    assert!(env.container_dirs("default").is_empty());
    assert_eq!(env.db_rows("instances"), 0);
}

/// The same image imported by everyone at once: one import, the rest conflicts, and
/// one set of files.
#[test]
fn racing_image_imports() {
    let img = busybox_images("racing_image_imports");
    let env = TestEnv::initialized();
    let barrier = Barrier::new(WORKERS);
    let codes: Vec<i32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|_| {
                let env = &env;
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let o = env.run("incus-image", &["import", img.unified.to_str().unwrap()]);
                    no_lock_trouble(&o);
                    o.code
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(
        codes.iter().all(|c| *c == 0 || *c == exit::CONFLICT),
        "{codes:?}"
    );
    let list = env.json("incus-image", &["list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let fp = list[0]["fingerprint"].as_str().unwrap();
    assert_eq!(list_dir(&env.incus_dir.join("images")), [fp]);
}

/// Writers on one shared object while others read: every command succeeds and
/// every write lands. `set` on an object is a read-modify-write of its config: the
/// read must happen under the object's lock, or concurrent writers lose updates.
fn parallel_sets(env: &TestEnv, set: &(dyn Fn(&str) -> Vec<String> + Sync), show: &[&str]) {
    let barrier = Barrier::new(WORKERS);
    std::thread::scope(|s| {
        for w in 0..WORKERS {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for j in 0..5 {
                    let key = format!("user.w{w}-{j}");
                    let args = set(&key);
                    let (tool, rest) = args.split_first().unwrap();
                    for o in [
                        env.run(tool, rest),
                        env.run("incus-profile", &["list", "-f", "json"]),
                    ] {
                        no_lock_trouble(&o);
                        assert_eq!(o.code, 0, "`{}`: {}", o.cmdline, o.stderr);
                    }
                }
            });
        }
    });
    let (tool, rest) = show.split_first().unwrap();
    let obj = env.json(tool, rest);
    let lost: Vec<String> = (0..WORKERS)
        .flat_map(|w| (0..5).map(move |j| format!("user.w{w}-{j}")))
        .filter(|k| obj["config"][k] != "v")
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} concurrent `set`s were lost ({show:?}): {lost:?}",
        lost.len(),
        WORKERS * 5
    );
}

#[test]
fn parallel_sets_on_the_server_config() {
    let env = TestEnv::initialized();
    parallel_sets(
        &env,
        &|k| {
            vec![
                "incus-instance".into(),
                "config".into(),
                "set".into(),
                k.into(),
                "v".into(),
            ]
        },
        &["incus-instance", "config", "show", "-f", "json"],
    );
}

#[test]
fn parallel_sets_on_one_profile() {
    let env = TestEnv::initialized();
    env.ok("incus-profile", &["create", "shared"]);
    parallel_sets(
        &env,
        &|k| {
            vec![
                "incus-profile".into(),
                "set".into(),
                "shared".into(),
                format!("{k}=v"),
            ]
        },
        &["incus-profile", "show", "shared", "-f", "json"],
    );
}

#[test]
fn parallel_sets_on_one_pool() {
    let env = TestEnv::initialized();
    parallel_sets(
        &env,
        &|k| {
            vec![
                "incus-storage".into(),
                "set".into(),
                "default".into(),
                format!("{k}=v"),
            ]
        },
        &["incus-storage", "show", "default", "-f", "json"],
    );
}

#[test]
fn parallel_sets_on_one_instance() {
    let env = TestEnv::initialized();
    env.ok("incus-instance", &["create", "--empty", "c1"]);
    parallel_sets(
        &env,
        &|k| {
            vec![
                "incus-instance".into(),
                "config".into(),
                "set".into(),
                "c1".into(),
                format!("{k}=v"),
            ]
        },
        &["incus-instance", "config", "show", "c1", "-f", "json"],
    );
}
