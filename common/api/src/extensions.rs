//! The API extensions `GET /1.0` announces: upstream 6.0's names
//! (`internal/version/api.go`), only for what `incus-serve` honours. Clients pick code
//! paths by them, so an entry here is a promise: each one names the behaviour it
//! stands for. Upstream's list has 450; the rest are absent on purpose (clustering,
//! VMs, OVN, ACLs, backups, buckets, metrics, migration, restricted projects, ...).

pub const API_EXTENSIONS: &[&str] = &[
    // /1.0/storage-pools (dir, btrfs), /1.0/networks (bridges), /1.0/projects (create,
    // features, limits, ?project= on every collection, /state).
    "storage",
    "network",
    "projects",
    "projects_networks",
    "projects_limits",
    "projects_limits_instances",
    "project_usage",
    "instance_all_projects",
    "images_all_projects",
    // /1.0/instances with recursion=2 (state and snapshots), `type`, and
    // ?recursion=1 on one instance returning state and snapshots.
    "container_full",
    "instances",
    "instance_get_full",
    // Profiles list the instances using them.
    "profile_usedby",
    // POST .../exec: record-output, signals on the control socket, user/group/cwd.
    "container_exec_recording",
    "container_exec_signal_handling",
    "container_exec_user_group_cwd",
    // The file API: DELETE, X-Incus-write: append, symlinks (created, and read back
    // as their target), directories (created and listed).
    "file_delete",
    "file_append",
    "file_symlinks",
    "file_get_symlink",
    "directory_manipulation",
    // POST /1.0/instances/NAME/console and the console log.
    "console",
    // POST /1.0/instances with `start`.
    "instance_create_start",
    // ?filter= on the instance list.
    "api_filtering",
    // Lifecycle events on /1.0/events.
    "event_lifecycle",
    // GET /1.0/operations/ID/wait.
    "operation_wait",
    // /1.0/instances/NAME/backups (create, list, show, rename, delete, export) in
    // upstream's tarball format; import by an octet-stream POST /1.0/instances with
    // X-Incus-pool and X-Incus-name; compression none, gzip or xz.
    "container_backup",
    "container_backup_override_pool",
    "backup_override_name",
    "backup_compression",
    "backup_compression_algorithm",
    // /1.0/storage-pools/POOL/volumes/custom/NAME/backups and the octet-stream
    // custom volume import (X-Incus-name).
    "custom_volume_backup",
    // POST /1.0/instances/NAME/rebuild (image or empty); POST /1.0/images from an
    // instance or a snapshot (publish) with compression_algorithm.
    "instances_rebuild",
    "image_compression_algorithm",
    // Trust tokens (`incus config trust add`, `remote add NAME TOKEN`).
    "certificate_token",
    // Instance snapshots: expiry (set and at creation), schedules with cron and aliases.
    "snapshot_expiry",
    "snapshot_expiry_creation",
    "snapshot_scheduling",
    "snapshot_schedule_aliases",
    // Copies: --instance-only; a move to another pool.
    "container_only_migration",
    "instance_pool_move",
    // /1.0/networks/NAME/state and /leases.
    "network_state",
    "network_leases",
    // Custom volumes: rename, snapshots, copy and move between local pools, state.
    "storage_api_volume_rename",
    "storage_api_volume_snapshots",
    "storage_api_local_volume_handling",
    "storage_volume_state",
    // /1.0/resources (CPU, memory, storage, network) in the v2 shape, and
    // /1.0/storage-pools/NAME/resources.
    "resources",
    "resources_v2",
];

#[cfg(test)]
mod tests {
    use super::API_EXTENSIONS;

    #[test]
    fn no_duplicates() {
        let mut v = API_EXTENSIONS.to_vec();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), API_EXTENSIONS.len());
    }
}
