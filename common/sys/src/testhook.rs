//! Kill-injection for the crash tests: with `INCUS_TEST_PAUSE=<point>` set, a tool
//! that reaches the named point creates the file `$INCUS_TEST_PAUSE_MARKER` and
//! blocks there forever, so a test can `kill -9` it at exactly that point. Without
//! the variable (always, outside tests) this is one `getenv`.
//!
//! Points: `start-before-runtime`, `start-spawned` (monitor spawned, its answer not
//! read yet), `start-before-record` (container running, database not updated),
//! `stop-before-runtime`, `stop-signaled` (halt signal sent, not waited for),
//! `stop-before-record` (container stopped, database not updated),
//! `snapshot-create-frozen` (a running instance frozen for a snapshot's copy),
//! `snapshot-create-before-record` (snapshot on disk, its mark not cleared),
//! `restart-stopped` (a restart's or a restore's stop done), `restart-before-start`
//! (a restore's disk work done, the instance not started again),
//! `live-apply-before-runtime` (a running instance's new row written, not plugged),
//! `ephemeral-stopped` (an ephemeral instance stopped, not deleted yet),
//! `image-volume-filled` (a pool's image volume filled, not yet complete),
//! `btrfs-restore-before-swap`, `btrfs-restore-after-swap`,
//! `volume-rename-rows-written` (rows renamed, disk not yet),
//! `import-unpacked` (a backup import's volumes unpacked, its pending mark not cleared),
//! `volume-import-unpacked` (a volume backup unpacked, its rows not written),
//! `rebuild-swapped` (a rebuild's new root swapped in, its config not written).

/// Blocks forever at `point` when `INCUS_TEST_PAUSE` names it (tests only).
pub fn pause_point(point: &str) {
    if std::env::var_os("INCUS_TEST_PAUSE").as_deref() != Some(std::ffi::OsStr::new(point)) {
        return;
    }
    if let Some(marker) = std::env::var_os("INCUS_TEST_PAUSE_MARKER") {
        let _ = std::fs::write(marker, point);
    }
    loop {
        // SAFETY: pause has no memory effects; it returns only on a caught signal.
        unsafe { libc::pause() };
    }
}
