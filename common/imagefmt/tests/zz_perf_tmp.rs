use incus_imagefmt::*;
#[test]
fn perf() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: String, dir: bool, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(data.len() as u64);
        h.set_mtime(1);
        b.append_data(&mut h, name, data).unwrap();
    };
    add(
        "metadata.yaml".into(),
        false,
        b"architecture: x86_64\ncreation_date: 1\n",
    );
    add("rootfs/".into(), true, b"");
    for i in 0..100 {
        add(format!("rootfs/usr/share/d{i}/"), true, b"");
        for j in 0..300 {
            add(format!("rootfs/usr/share/d{i}/f{j}"), false, b"hello world");
        }
    }
    let data = b.into_inner().unwrap();
    let p = tmp.path().join("img");
    std::fs::write(&p, &data).unwrap();
    let t = std::time::Instant::now();
    unpack_rootfs(
        &ImageSource::Unified(p.clone()),
        &tmp.path().join("r"),
        None,
    )
    .unwrap();
    eprintln!("30k files: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    std::process::Command::new("tar")
        .arg("-xf")
        .arg(&p)
        .arg("-C")
        .arg(tmp.path().join("r2"))
        .status()
        .ok();
    std::fs::create_dir(tmp.path().join("r2")).unwrap();
    let t2 = std::time::Instant::now();
    std::process::Command::new("tar")
        .arg("-xpf")
        .arg(&p)
        .arg("-C")
        .arg(tmp.path().join("r2"))
        .status()
        .unwrap();
    eprintln!("gnu tar: {:?} (ignore first {:?})", t2.elapsed(), t2 - t);
}
