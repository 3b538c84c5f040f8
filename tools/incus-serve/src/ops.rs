//! Operations: the asynchronous half of the API. An operation lives in memory while
//! this server runs (as upstream's do), is announced on `/1.0/events` at each change,
//! and lingers for a while after it finished so `GET` and `/wait` still find it.

use incus_api::{Error, Operation, Result};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// Status codes of operations, as upstream.
pub const RUNNING: i32 = 103;
pub const SUCCESS: i32 = 200;
pub const FAILURE: i32 = 400;
pub const CANCELLED: i32 = 401;

/// How long a finished operation stays listed.
const LINGER: Duration = Duration::from_secs(300);

pub fn status_text(code: i32) -> &'static str {
    match code {
        100 => "Operation created",
        RUNNING => "Running",
        104 => "Cancelling",
        105 => "Pending",
        SUCCESS => "Success",
        CANCELLED => "Cancelled",
        _ => "Failure",
    }
}

/// One operation.
pub struct Op {
    pub id: String,
    state: Mutex<Operation>,
    finished_at: Mutex<Option<Instant>>,
    done: watch::Sender<bool>,
    /// Websocket secrets by fd name (`0`, `1`, `2`, `control`), for websocket ops.
    pub secrets: BTreeMap<String, String>,
    /// Where websocket connections for this op are handed over.
    pub sockets: Mutex<HashMap<String, tokio::sync::oneshot::Sender<axum::extract::ws::WebSocket>>>,
    events: broadcast::Sender<serde_json::Value>,
    /// The project of the request that made it (its events carry it).
    pub project: String,
}

impl Op {
    pub fn snapshot(&self) -> Operation {
        self.state.lock().expect("op lock").clone()
    }

    pub fn url(&self) -> String {
        format!("/1.0/operations/{}", self.id)
    }

    /// Replaces the metadata (and announces it).
    pub fn set_metadata(&self, metadata: serde_json::Value) {
        {
            let mut st = self.state.lock().expect("op lock");
            st.metadata = Some(metadata);
            st.updated_at = incus_core::time::now();
        }
        self.announce();
    }

    /// Marks the operation finished with `result`.
    pub fn finish(&self, result: Result<()>) {
        {
            let mut st = self.state.lock().expect("op lock");
            let code = match &result {
                Ok(()) => SUCCESS,
                Err(_) => FAILURE,
            };
            st.status_code = code;
            st.status = status_text(code).into();
            st.may_cancel = false;
            if let Err(e) = result {
                // Not upstream's: the failure's kind as the HTTP status a sync answer
                // would have had, so our remote client exits as the local tools do.
                let mut m = st.metadata.take().unwrap_or_else(|| serde_json::json!({}));
                if let Some(o) = m.as_object_mut() {
                    o.insert("error_code".into(), e.kind.http_status().into());
                }
                st.metadata = Some(m);
                st.err = e.message;
            }
            st.updated_at = incus_core::time::now();
        }
        *self.finished_at.lock().expect("op lock") = Some(Instant::now());
        self.announce();
        // send_replace stores the value even when nobody waits right now (send would not).
        self.done.send_replace(true);
    }

    pub fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    /// Waits until finished or `timeout` passed (`None` = no limit).
    pub async fn wait(&self, timeout: Option<Duration>) {
        let mut rx = self.done.subscribe();
        let fut = rx.wait_for(|d| *d);
        match timeout {
            Some(t) => {
                let _ = tokio::time::timeout(t, fut).await;
            }
            None => {
                let _ = fut.await;
            }
        }
    }

    fn announce(&self) {
        let op = self.snapshot();
        let _ = self.events.send(serde_json::json!({
            "type": "operation",
            "timestamp": incus_core::time::now(),
            "metadata": op,
            "location": "none",
            "project": self.project,
        }));
    }
}

/// All operations of this server.
pub struct Ops {
    map: Mutex<HashMap<String, Arc<Op>>>,
    events: broadcast::Sender<serde_json::Value>,
}

/// What a new operation is.
pub struct OpSpec {
    pub class: &'static str,
    pub description: String,
    pub resources: BTreeMap<String, Vec<String>>,
    pub metadata: Option<serde_json::Value>,
    /// Websocket fds to make secrets for.
    pub fds: Vec<&'static str>,
}

impl OpSpec {
    pub fn task(description: impl Into<String>, resources: &[(&str, String)]) -> OpSpec {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in resources {
            map.entry(k.to_string()).or_default().push(v.clone());
        }
        OpSpec {
            class: "task",
            description: description.into(),
            resources: map,
            metadata: None,
            fds: vec![],
        }
    }
}

impl Ops {
    pub fn new(events: broadcast::Sender<serde_json::Value>) -> Ops {
        Ops {
            map: Mutex::new(HashMap::new()),
            events,
        }
    }

    /// Registers a new running operation.
    pub fn create(&self, spec: OpSpec) -> Arc<Op> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = incus_core::time::now();
        let secrets: BTreeMap<String, String> = spec
            .fds
            .iter()
            .map(|fd| (fd.to_string(), random_secret()))
            .collect();
        let mut metadata = spec.metadata;
        if !secrets.is_empty() {
            let fds = serde_json::to_value(&secrets).unwrap_or_default();
            let mut m = metadata.take().unwrap_or_else(|| serde_json::json!({}));
            m["fds"] = fds;
            metadata = Some(m);
        }
        let op = Arc::new(Op {
            project: crate::app::current_project(),
            id: id.clone(),
            state: Mutex::new(Operation {
                id: id.clone(),
                class: spec.class.into(),
                description: spec.description,
                created_at: now.clone(),
                updated_at: now,
                status: status_text(RUNNING).into(),
                status_code: RUNNING,
                resources: spec.resources,
                metadata,
                may_cancel: false,
                err: String::new(),
                location: "none".into(),
            }),
            finished_at: Mutex::new(None),
            done: watch::channel(false).0,
            secrets,
            sockets: Mutex::new(HashMap::new()),
            events: self.events.clone(),
        });
        let mut map = self.map.lock().expect("ops lock");
        map.retain(|_, o| {
            o.finished_at
                .lock()
                .expect("op lock")
                .is_none_or(|t| t.elapsed() < LINGER)
        });
        map.insert(id, op.clone());
        drop(map);
        op.announce();
        op
    }

    pub fn get(&self, id: &str) -> Result<Arc<Op>> {
        self.map
            .lock()
            .expect("ops lock")
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found("Operation not found"))
    }

    pub fn all(&self) -> Vec<Arc<Op>> {
        let mut v: Vec<_> = self
            .map
            .lock()
            .expect("ops lock")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.snapshot().created_at.cmp(&b.snapshot().created_at));
        v
    }
}

fn random_secret() -> String {
    use sha2::{Digest, Sha256};
    // Two v4 UUIDs are 244 random bits from the OS generator.
    let seed = format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    hex::encode(Sha256::digest(seed.as_bytes()))
}
