//! A standalone installation: `host` finds no member state and loads nothing (its own
//! test binary, so no other test has loaded libcowsql first).

#[test]
fn host_on_a_standalone_installation_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(incus_membership::member::host(dir.path())
        .unwrap()
        .is_none());
    assert!(!cowsql_node::is_loaded());
    assert!(!std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .contains("libcowsql"));
    assert!(!dir.path().join("cluster").exists(), "nothing created");
}
