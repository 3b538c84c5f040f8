//! What a restricted client certificate may reach: the objects of its projects and
//! nothing host-wide beyond reading the server description and the storage pools.
//! Decided once per request in the router's guard, before any handler runs.

use incus_api::{Error, Result};

/// The verdict on one request of a restricted caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Allowed when the project holds its own objects of this feature (a write to
    /// `default`'s shared objects through a project without the feature is refused).
    AllowIfOwn(&'static str),
}

fn deny(why: impl Into<String>) -> Result<Verdict> {
    Err(Error::forbidden(why.into()))
}

/// `path` without a trailing `/`; `project` the request's (`default` when absent).
pub fn allows(
    method: &str,
    path: &str,
    project: &str,
    all_projects: bool,
    projects: &[String],
) -> Result<Verdict> {
    let read = method == "GET";
    if read && (path.is_empty() || path == "/1.0") {
        return Ok(Verdict::Allow);
    }
    if all_projects {
        return deny("Restricted certificates cannot list all projects");
    }
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if seg.first() != Some(&"1.0") {
        return deny("not authorized");
    }
    let in_project = projects.iter().any(|p| p == project);
    match seg.get(1).copied() {
        Some("projects") => match (read, seg.len()) {
            // The list is filtered to the caller's projects by its handler.
            (true, 2) => Ok(Verdict::Allow),
            (true, 3) | (true, 4)
                if projects.iter().any(|p| p == seg[2])
                    && (seg.len() == 3 || seg[3] == "state") =>
            {
                Ok(Verdict::Allow)
            }
            _ => deny("Restricted certificates cannot manage projects"),
        },
        Some("instances") | Some("events") if in_project => Ok(Verdict::Allow),
        Some("profiles") if in_project => feature(read, "features.profiles"),
        Some("images") if in_project => feature(read, "features.images"),
        Some("networks") if in_project => {
            if read {
                Ok(Verdict::Allow)
            } else {
                feature(read, "features.networks")
            }
        }
        Some("storage-pools") => match seg.get(3).copied() {
            None if read => Ok(Verdict::Allow),
            Some("volumes") if in_project => feature(read, "features.storage.volumes"),
            _ => deny("Restricted certificates cannot manage storage pools"),
        },
        // Operations are addressed by unguessable ids; the list is not for them.
        Some("operations") if seg.len() >= 3 => Ok(Verdict::Allow),
        Some("instances" | "events" | "profiles" | "images" | "networks") => {
            deny(format!("Certificate not allowed in project \"{project}\""))
        }
        _ => deny("Restricted certificates cannot reach server-wide settings"),
    }
}

fn feature(read: bool, key: &'static str) -> Result<Verdict> {
    Ok(if read {
        Verdict::Allow
    } else {
        Verdict::AllowIfOwn(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(m: &str, p: &str, proj: &str) -> bool {
        allows(m, p, proj, false, &["a".to_string()]).is_ok()
    }

    #[test]
    fn restricted_reach() {
        assert!(ok("GET", "/1.0", "default"));
        assert!(ok("GET", "/1.0/instances", "a"));
        assert!(!ok("GET", "/1.0/instances", "b"));
        assert!(!ok("GET", "/1.0/instances", "default"));
        assert!(ok("GET", "/1.0/projects/a", "x"));
        assert!(!ok("GET", "/1.0/projects/b", "a"));
        assert!(!ok("PUT", "/1.0/projects/a", "a"));
        assert!(!ok("POST", "/1.0/projects", "a"));
        assert!(!ok("GET", "/1.0/certificates", "a"));
        assert!(!ok("PATCH", "/1.0/certificates/abcd", "a"));
        assert!(!ok("PUT", "/1.0", "a"));
        assert!(!ok("GET", "/1.0/resources", "a"));
        assert!(!ok("POST", "/1.0/storage-pools", "a"));
        assert!(ok("GET", "/1.0/storage-pools/default", "a"));
        assert!(!ok("DELETE", "/1.0/storage-pools/default", "a"));
        assert!(!ok("GET", "/1.0/operations", "a"));
        assert!(ok("GET", "/1.0/operations/x/wait", "b"));
        assert_eq!(
            allows("POST", "/1.0/profiles", "a", false, &["a".into()]).unwrap(),
            Verdict::AllowIfOwn("features.profiles")
        );
        assert!(allows("GET", "/1.0/instances", "a", true, &["a".into()]).is_err());
    }
}
