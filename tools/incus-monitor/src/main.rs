//! Internal binary: the per-instance monitor. Spawned by `incus_runtime::start`, never by users.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(incus_runtime::monitor_main(&args));
}
