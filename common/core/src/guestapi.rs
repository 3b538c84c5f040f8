//! The host side of the guest API (`/dev/incus/sock`, served by each instance's monitor):
//! what the guest may see is published into the run directory of a running instance at
//! start and after every change of its config, devices or profiles (by any tool, so the
//! monitor's event stream sees them all); what the guest reports (`PATCH /1.0` Ready) and
//! the image exports it asks for come back through [`hook`], which the monitor runs.

use crate::{events, instance, lifecycle, Context, Error, Result};
use incus_api::{keys, Config, Devices, StatusCode};
use incus_runtime::GuestData;
use std::io::Write;

/// What the guest API of an instance serves, from its expanded config and devices.
pub fn data_of(ctx: &Context, name: &str, config: &Config, devices: &Devices) -> GuestData {
    let flag = |k: &str, default: bool| {
        config
            .get(k)
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(default)
    };
    let devices = devices
        .iter()
        .map(|(dev, d)| {
            let mut d: std::collections::BTreeMap<String, String> =
                d.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            // as upstream: a NIC's generated MAC, so cloud-init can match it
            if d.get("type").map(String::as_str) == Some("nic") && !d.contains_key("hwaddr") {
                if let Some(mac) = config.get(&format!("volatile.{dev}.hwaddr")) {
                    d.insert("hwaddr".into(), mac.clone());
                }
            }
            (dev.clone(), d)
        })
        .collect();
    let bin = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("incus-instance")))
        .filter(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "incus-instance".into());
    GuestData {
        enabled: flag("security.guestapi", true),
        images: flag("security.guestapi.images", false),
        config: config
            .iter()
            .filter(|(k, _)| k.starts_with("user.") || k.starts_with("cloud-init."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        devices,
        instance_id: config
            .get("volatile.cloud-init.instance-id")
            .cloned()
            .unwrap_or_else(|| name.to_string()),
        name: name.to_string(),
        location: String::new(),
        hook: vec![
            bin,
            "__guestapi".into(),
            "--project".into(),
            ctx.project.clone(),
            name.to_string(),
        ],
        hook_env: vec![
            (
                "INCUS_DIR".into(),
                ctx.incus_dir.to_string_lossy().into_owned(),
            ),
            (
                "INCUS_RUN_DIR".into(),
                ctx.run_dir.to_string_lossy().into_owned(),
            ),
        ],
    }
}

/// Publishes the guest API data of an instance before its start.
pub(crate) fn publish_with(
    ctx: &Context,
    name: &str,
    config: &Config,
    devices: &Devices,
) -> Result<()> {
    incus_runtime::guest_publish(
        &ctx.instance_run_dir(name),
        &data_of(ctx, name, config, devices),
    )
    .map_err(crate::convert::runtime_error)
}

/// Publishes the current guest API data of a running instance (after a change); a
/// stopped instance has nothing to tell.
pub fn publish(ctx: &Context, name: &str) -> Result<()> {
    if lifecycle::status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    let inst = instance::get(ctx, name)?;
    publish_with(ctx, name, &inst.expanded_config, &inst.expanded_devices)
}

/// The guest reported its state (`PATCH /1.0`): `volatile.last_state.ready`, and an
/// `instance-ready` lifecycle event when ready, as upstream.
pub fn record_ready(ctx: &Context, name: &str, ready: bool) -> Result<()> {
    let row = instance::get_row(ctx, name)?;
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(
            tx,
            row.id,
            "volatile.last_state.ready",
            Some(if ready { "true" } else { "false" }),
        )?;
        if ready {
            events::record(
                tx,
                &project,
                "instance-ready",
                &format!("/1.0/instances/{name}"),
                serde_json::json!({}),
            )?;
        }
        Ok(())
    })
}

/// `GET /1.0/images/FP/export` from the guest: the image with exactly this fingerprint,
/// public or cached (upstream's rule for `/dev/incus`), written to `out` as an HTTP
/// response; anything else is upstream's 404.
pub fn export_image(ctx: &Context, fingerprint: &str, out: &mut dyn Write) -> Result<()> {
    let not_found = |out: &mut dyn Write| -> Result<()> {
        let body = format!("Image \"{fingerprint}\" not found\n");
        write!(
            out,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        Ok(())
    };
    let row = match crate::image::resolve(ctx, fingerprint) {
        Ok(r) if r.fingerprint == fingerprint && (r.public || r.cached) => r,
        Ok(_) => return not_found(out),
        Err(e) if e.kind == crate::ErrorKind::NotFound => return not_found(out),
        Err(e) => return Err(e),
    };
    let path = match crate::image::stored_source(ctx, &row) {
        incus_imagefmt::ImageSource::Unified(p) => p,
        incus_imagefmt::ImageSource::Split { .. } => {
            return Err(Error::unsupported(
                "Exporting split images is not supported yet",
            ))
        }
    };
    let mut f = std::fs::File::open(&path)?;
    let len = f.metadata()?.len();
    let filename = if row.filename.is_empty() {
        format!("{}.tar", row.fingerprint)
    } else {
        row.filename.clone()
    };
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename={filename}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )?;
    std::io::copy(&mut f, out)?;
    out.flush()?;
    Ok(())
}

/// The helper the monitor runs: `ready true|false` or `export FINGERPRINT` (the guest's
/// connection is stdout).
pub fn hook(ctx: &Context, name: &str, action: &str, arg: &str) -> Result<()> {
    match action {
        "ready" => record_ready(ctx, name, arg == "true"),
        "export" => {
            let mut out = std::io::stdout().lock();
            let r = export_image(ctx, arg, &mut out);
            if let Err(e) = &r {
                let body = format!("{}\n", e.message);
                let _ = write!(
                    out,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            r
        }
        other => Err(Error::invalid(format!(
            "unknown guest API action {other:?}"
        ))),
    }
}
