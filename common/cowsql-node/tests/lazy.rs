//! libcowsql is loaded on first use only: a process that never creates a node never
//! maps it (its own test binary, so no other test loads it first).

fn mapped() -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .contains("libcowsql")
}

#[test]
fn libcowsql_is_loaded_on_first_use_only() {
    assert!(!cowsql_node::is_loaded());
    assert!(!mapped(), "libcowsql mapped before any node was created");
    let dir = tempfile::tempdir().unwrap();
    let node = cowsql_node::Node::create(1, "127.0.0.1:1", dir.path()).unwrap();
    assert!(cowsql_node::is_loaded());
    assert!(mapped());
    assert_eq!(cowsql_node::version_number().unwrap() / 100, 115);
    drop(node);
}
