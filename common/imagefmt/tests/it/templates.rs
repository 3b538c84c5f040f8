//! Template rendering.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use incus_imagefmt::{render_templates, Error, ImageMetadata, TemplateContext};

struct Fixture {
    _tmp: tempfile::TempDir,
    rootfs: PathBuf,
    templates: PathBuf,
}

fn fixture(templates: &[(&str, &str)]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let rootfs = tmp.path().join("rootfs");
    let tdir = tmp.path().join("templates");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::create_dir_all(&tdir).unwrap();
    for (name, body) in templates {
        std::fs::write(tdir.join(name), body).unwrap();
    }
    Fixture {
        rootfs,
        templates: tdir,
        _tmp: tmp,
    }
}

fn meta(yaml_templates: &str) -> ImageMetadata {
    ImageMetadata::from_yaml(
        format!("architecture: x86_64\ncreation_date: 1\ntemplates:\n{yaml_templates}").as_bytes(),
    )
    .unwrap()
}

fn ctx(name: &str) -> TemplateContext {
    TemplateContext {
        instance_name: name.into(),
        instance_type: "container".into(),
        architecture: "x86_64".into(),
        config: BTreeMap::from([
            ("user.foo".to_string(), "bar\n".to_string()),
            ("limits.cpu".to_string(), "2".to_string()),
        ]),
        devices: BTreeMap::from([(
            "eth0".to_string(),
            BTreeMap::from([("nictype".to_string(), "bridged".to_string())]),
        )]),
        ..Default::default()
    }
}

fn render(f: &Fixture, m: &ImageMetadata, trigger: &str, name: &str, first: bool) -> Vec<PathBuf> {
    render_templates(&f.rootfs, &f.templates, m, trigger, &ctx(name), first).unwrap()
}

fn read(root: &Path, p: &str) -> String {
    std::fs::read_to_string(root.join(p)).unwrap()
}

#[test]
fn hostname_from_instance_name() {
    let f = fixture(&[("hostname.tpl", "{{ instance.name }}\n")]);
    std::fs::write(f.rootfs.join("etc/hostname"), "busybox\n").unwrap();
    let m =
        meta("  /etc/hostname:\n    when: [create, copy, rename]\n    template: hostname.tpl\n");
    let written = render(&f, &m, "create", "c1", true);
    assert_eq!(written, vec![f.rootfs.join("etc/hostname")]);
    assert_eq!(
        read(&f.rootfs, "etc/hostname"),
        "c1\n",
        "trailing newline kept"
    );
    // Not listed for `start`: untouched.
    assert!(render(&f, &m, "start", "other", false).is_empty());
    assert_eq!(read(&f.rootfs, "etc/hostname"), "c1\n");
    render(&f, &m, "rename", "c2", false);
    assert_eq!(read(&f.rootfs, "etc/hostname"), "c2\n");
}

#[test]
fn full_context() {
    let body = "{{ trigger }}|{{ path }}|{{ container.name }}|{{ instance.type }}|{{ instance.privileged }}|\
{{ config['limits.cpu'] }}|{{ config_get('user.foo', 'x') }}|{{ config_get('user.none', 'dflt') }}|\
{{ devices.eth0.nictype }}|{{ properties.greeting }}|{{ image.properties.os }}|<&>\n";
    let f = fixture(&[("all.tpl", body)]);
    let m = meta("  /etc/all:\n    when: [start]\n    template: all.tpl\n    properties:\n      greeting: hello\n");
    let mut c = ctx("web");
    c.properties_image.insert("os".into(), "busybox".into());
    render_templates(&f.rootfs, &f.templates, &m, "start", &c, false).unwrap();
    assert_eq!(
        read(&f.rootfs, "etc/all"),
        "start|/etc/all|web|container|false|2|bar|dflt|bridged|hello|busybox|<&>\n"
    );
}

#[test]
fn create_only() {
    let f = fixture(&[("t.tpl", "{{ instance.name }}")]);
    let m = meta(
        "  /etc/once:\n    when: [create, start]\n    template: t.tpl\n    create_only: true\n",
    );
    // Not the first create: skipped even though the file is missing.
    assert!(render(&f, &m, "start", "a", false).is_empty());
    assert!(!f.rootfs.join("etc/once").exists());
    // First create writes it.
    assert_eq!(render(&f, &m, "create", "a", true).len(), 1);
    assert_eq!(read(&f.rootfs, "etc/once"), "a");
    // An existing file is never overwritten.
    assert!(render(&f, &m, "create", "b", true).is_empty());
    assert_eq!(read(&f.rootfs, "etc/once"), "a");
}

#[test]
fn owner_and_mode() {
    let f = fixture(&[("t.tpl", "x")]);
    let m = meta(
        "  /srv/new/file:\n    when: [create]\n    template: t.tpl\n    uid: \"1000\"\n    gid: \"1001\"\n    mode: \"0600\"\n  /etc/existing:\n    when: [create]\n    template: t.tpl\n    mode: \"0600\"\n  /etc/default:\n    when: [create]\n    template: t.tpl\n",
    );
    std::fs::write(f.rootfs.join("etc/existing"), "old content").unwrap();
    std::fs::set_permissions(
        f.rootfs.join("etc/existing"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    render(&f, &m, "create", "a", true);
    let md = std::fs::metadata(f.rootfs.join("srv/new/file")).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o600);
    if is_root() {
        assert_eq!((md.uid(), md.gid()), (1000, 1001));
    }
    assert_eq!(
        std::fs::metadata(f.rootfs.join("srv/new")).unwrap().mode() & 0o7777,
        0o755
    );
    // Existing file: content replaced, mode kept (as upstream).
    let md = std::fs::metadata(f.rootfs.join("etc/existing")).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o640);
    assert_eq!(read(&f.rootfs, "etc/existing"), "x");
    assert_eq!(
        std::fs::metadata(f.rootfs.join("etc/default"))
            .unwrap()
            .mode()
            & 0o7777,
        0o644
    );
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn symlinked_targets_are_refused() {
    let f = fixture(&[("t.tpl", "pwned")]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim"), "safe").unwrap();

    // The target itself is a symlink out of the rootfs.
    std::os::unix::fs::symlink(outside.path().join("victim"), f.rootfs.join("etc/hostname"))
        .unwrap();
    let m = meta("  /etc/hostname:\n    when: [create]\n    template: t.tpl\n");
    let e = render_templates(&f.rootfs, &f.templates, &m, "create", &ctx("a"), true).unwrap_err();
    assert!(matches!(e, Error::Unsafe { .. }), "{e}");

    // A parent directory is a symlink out of the rootfs.
    std::os::unix::fs::symlink(outside.path(), f.rootfs.join("out")).unwrap();
    let m = meta("  /out/new:\n    when: [create]\n    template: t.tpl\n");
    let e = render_templates(&f.rootfs, &f.templates, &m, "create", &ctx("a"), true).unwrap_err();
    assert!(matches!(e, Error::Unsafe { .. }), "{e}");

    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim")).unwrap(),
        "safe"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
}

#[test]
fn template_sources_stay_in_their_dirs() {
    let f = fixture(&[]);
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("shadow"), "secret").unwrap();
    // A template file that is a symlink to a host file is not read.
    std::os::unix::fs::symlink(secret.path().join("shadow"), f.templates.join("leak.tpl")).unwrap();
    let m = meta("  /etc/leak:\n    when: [create]\n    template: leak.tpl\n");
    let e = render_templates(&f.rootfs, &f.templates, &m, "create", &ctx("a"), true).unwrap_err();
    assert!(matches!(e, Error::Template { .. }), "{e}");
    assert!(!f.rootfs.join("etc/leak").exists());

    // Includes read from the rootfs, never through symlinks out of it.
    std::fs::write(f.rootfs.join("etc/motd"), "welcome").unwrap();
    std::os::unix::fs::symlink(secret.path().join("shadow"), f.rootfs.join("etc/evil")).unwrap();
    std::fs::write(f.templates.join("inc.tpl"), "{% include 'etc/motd' %}!").unwrap();
    std::fs::write(f.templates.join("bad.tpl"), "{% include '/etc/evil' %}").unwrap();
    let m = meta("  /etc/inc:\n    when: [create]\n    template: inc.tpl\n");
    render(&f, &m, "create", "a", true);
    assert_eq!(read(&f.rootfs, "etc/inc"), "welcome!");
    let m = meta("  /etc/bad:\n    when: [create]\n    template: bad.tpl\n");
    let e = render_templates(&f.rootfs, &f.templates, &m, "create", &ctx("a"), true).unwrap_err();
    assert!(matches!(e, Error::Template { .. }), "{e}");
    assert!(!f.rootfs.join("etc/bad").exists());
}

#[test]
fn broken_and_endless_templates_fail_cleanly() {
    let f = fixture(&[
        ("syntax.tpl", "{% if %}"),
        (
            "loop.tpl",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        ),
    ]);
    std::fs::write(f.rootfs.join("etc/keep"), "original").unwrap();
    for tpl in ["syntax.tpl", "loop.tpl"] {
        let m = meta(&format!(
            "  /etc/keep:\n    when: [create]\n    template: {tpl}\n"
        ));
        let e =
            render_templates(&f.rootfs, &f.templates, &m, "create", &ctx("a"), true).unwrap_err();
        assert!(matches!(e, Error::Template { .. }), "{tpl}: {e}");
        assert_eq!(
            read(&f.rootfs, "etc/keep"),
            "original",
            "{tpl}: file untouched"
        );
    }
}
