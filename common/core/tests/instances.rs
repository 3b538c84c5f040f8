//! Core operations against a real temporary INCUS_DIR: image templates give each
//! instance its own hostname, profiles expand, repair removes half-created instances.

use incus_core::{admin, image, instance, Context};
use std::path::Path;

fn setup() -> (tempfile::TempDir, Context) {
    assert!(
        Path::new("/bin/busybox").exists(),
        "/bin/busybox is missing: apt-get install busybox-static (make test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let ctx = Context::new(&dir.path().join("state"), Some(&run)).unwrap();
    admin::init_minimal(&ctx).unwrap();
    let src = incus_imagefmt::build_busybox_image(
        Path::new("/bin/busybox"),
        &dir.path().join("img"),
        incus_imagefmt::BuildFormat::Unified,
    )
    .unwrap();
    image::import(
        &ctx,
        &src,
        &image::ImportOptions {
            aliases: vec!["bb".into()],
            ..Default::default()
        },
        None,
    )
    .unwrap();
    (dir, ctx)
}

fn create(ctx: &Context, name: &str) -> incus_api::Instance {
    instance::create(
        ctx,
        instance::CreateOptions {
            name: Some(name.into()),
            image: Some("bb".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn hostname(ctx: &Context, name: &str) -> String {
    let row_path = ctx
        .pools_dir()
        .join("default/containers")
        .join(name)
        .join("rootfs/etc/hostname");
    std::fs::read_to_string(row_path).unwrap()
}

#[test]
fn hostname_template_renders_each_instance_name() {
    let (_dir, ctx) = setup();
    let c1 = create(&ctx, "c1");
    let c2 = create(&ctx, "c2");
    assert_eq!(c1.config["volatile.apply_template"], "create");
    assert_ne!(
        c1.config["volatile.idmap.base"],
        c2.config["volatile.idmap.base"]
    );
    // Upstream renders create templates at the first start.
    instance::apply_templates(&ctx, "c1").unwrap();
    instance::apply_templates(&ctx, "c2").unwrap();
    assert_eq!(hostname(&ctx, "c1").trim(), "c1");
    assert_eq!(hostname(&ctx, "c2").trim(), "c2");
    let after = instance::get(&ctx, "c1").unwrap();
    assert!(!after.config.contains_key("volatile.apply_template"));

    instance::rename(&ctx, "c2", "web").unwrap();
    assert_eq!(
        instance::get(&ctx, "web").unwrap().config["volatile.apply_template"],
        "rename"
    );
    instance::apply_templates(&ctx, "web").unwrap();
    assert_eq!(hostname(&ctx, "web").trim(), "web");
}

#[test]
fn expanded_config_and_pending_repair() {
    let (_dir, ctx) = setup();
    incus_core::profile::create(
        &ctx,
        "limits",
        incus_api::ProfilePut {
            config: [("limits.cpu".to_string(), "1".to_string())].into(),
            ..Default::default()
        },
    )
    .unwrap();
    let c = instance::create(
        &ctx,
        instance::CreateOptions {
            name: Some("p1".into()),
            image: Some("bb".into()),
            profiles: Some(vec!["default".into(), "limits".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.expanded_config["limits.cpu"], "1");
    assert!(c.expanded_devices.contains_key("root"));
    assert!(!c.config.contains_key("limits.cpu"));

    // A creator that died after writing its pending row: the next list removes it.
    {
        let mut db = ctx.db().unwrap();
        db.write(|tx| {
            let mut row = incus_db::instance_get(tx, "default", "p1")?.unwrap();
            row.pending = true;
            incus_db::instance_update(tx, &row)
        })
        .unwrap();
    }
    let names: Vec<String> = instance::list(&ctx)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(!names.contains(&"p1".to_string()));
    assert!(!ctx.pools_dir().join("default/containers/p1").exists());
}

#[test]
fn interrupted_rename_is_finished_by_the_next_command() {
    let (_dir, ctx) = setup();
    create(&ctx, "old");
    instance::apply_templates(&ctx, "old").unwrap();
    // The state a rename killed between its rows and its disk leaves: rows under the
    // new name with the mark, the volume still under the old name.
    {
        let mut db = ctx.db().unwrap();
        db.write(|tx| {
            let row = incus_db::instance_get(tx, "default", "old")?.unwrap();
            incus_db::instance_rename(tx, row.id, "new")?;
            let vol = incus_db::volume_get(tx, "default", "default", "container", "old")?.unwrap();
            incus_db::volume_rename(tx, vol.id, "new")?;
            incus_db::instance_config_set(tx, row.id, "volatile.rename_from", Some("old"))
        })
        .unwrap();
    }
    let pools = ctx.pools_dir().join("default/containers");
    assert!(pools.join("old/rootfs/bin/busybox").exists());

    // Creating the old name again must not take (or delete) the moving volume.
    let again = create(&ctx, "old");
    assert_eq!(again.name, "old");

    let listed: Vec<String> = instance::list(&ctx)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(listed, ["new", "old"]);
    let new = instance::get(&ctx, "new").unwrap();
    assert!(!new.config.contains_key("volatile.rename_from"));
    assert!(pools.join("new/rootfs/bin/busybox").exists());
    assert_eq!(
        hostname(&ctx, "new").trim(),
        "old",
        "files moved, not rebuilt"
    );
    assert_eq!(
        std::fs::read_link(ctx.incus_dir.join("containers/new")).unwrap(),
        pools.join("new")
    );
}

#[test]
fn a_failed_create_never_deletes_a_volume_it_did_not_make() {
    let (_dir, ctx) = setup();
    let stray = ctx.pools_dir().join("default/containers/taken");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("precious"), b"x").unwrap();
    let err = instance::create(
        &ctx,
        instance::CreateOptions {
            name: Some("taken".into()),
            image: Some("bb".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind, incus_api::ErrorKind::Conflict, "{}", err.message);
    assert!(stray.join("precious").exists());
    assert!(instance::get(&ctx, "taken").is_err(), "no row left behind");
}
