//! `metadata.yaml`: the types, lenient parsing (as Go's yaml into `map[string]string`) and validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::paths::split_path;

/// The largest `metadata.yaml` we accept; real ones are a few KiB, this stops memory bombs.
pub const MAX_METADATA_SIZE: u64 = 8 << 20;

/// The contents of an image's `metadata.yaml` (upstream `api.ImageMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMetadata {
    /// Architecture name as upstream writes it (`x86_64`, `aarch64`, ...). Required.
    pub architecture: String,
    /// Unix time the image was built. Required.
    pub creation_date: i64,
    /// Unix time after which the image should not be used (0 = never).
    #[serde(default)]
    pub expiry_date: i64,
    /// Free-form properties (`os`, `release`, `description`, `variant`, ...).
    #[serde(default, deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    /// Templates keyed by the guest path they render to.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateEntry>,
}

/// One `templates:` entry of `metadata.yaml` (upstream `api.ImageMetadataTemplate`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TemplateEntry {
    /// Triggers that render it: `create`, `copy`, `start`, `rename`.
    #[serde(default)]
    pub when: Vec<String>,
    /// Never overwrite an existing file.
    #[serde(default)]
    pub create_only: bool,
    /// File name under the image's `templates/` directory.
    pub template: String,
    /// Values exposed to the template as `properties`.
    #[serde(default, deserialize_with = "string_map")]
    pub properties: BTreeMap<String, String>,
    /// Owner of a newly created file (decimal string, default 0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub uid: Option<String>,
    /// Group of a newly created file (decimal string, default 0).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub gid: Option<String>,
    /// Mode of a newly created file (octal string such as "0644" or "644", default 0644).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_string"
    )]
    pub mode: Option<String>,
}

impl ImageMetadata {
    /// Parse and validate `metadata.yaml` bytes.
    pub fn from_yaml(bytes: &[u8]) -> Result<Self> {
        let meta: ImageMetadata = serde_yaml_ng::from_slice(bytes)
            .map_err(|e| Error::InvalidMetadata(format!("metadata.yaml: {e}")))?;
        meta.validate()?;
        Ok(meta)
    }

    /// Serialise as `metadata.yaml`.
    pub fn to_yaml(&self) -> Result<String> {
        serde_yaml_ng::to_string(self).map_err(|e| Error::InvalidMetadata(e.to_string()))
    }

    /// Check the rules upstream relies on, plus the path rules that keep templates in their boxes.
    pub fn validate(&self) -> Result<()> {
        if self.architecture.trim().is_empty() {
            return Err(Error::InvalidMetadata(
                "metadata.yaml: architecture is empty".into(),
            ));
        }
        for (path, tpl) in &self.templates {
            let guest = split_path(path.trim_start_matches('/').as_bytes())
                .map_err(|r| bad_template(path, &tpl.template, r))?;
            if guest.is_empty() {
                return Err(bad_template(path, &tpl.template, "empty guest path"));
            }
            if tpl.template.starts_with('/') {
                return Err(bad_template(path, &tpl.template, "absolute template name"));
            }
            let file = split_path(tpl.template.as_bytes())
                .map_err(|r| bad_template(path, &tpl.template, r))?;
            if file.is_empty() {
                return Err(bad_template(path, &tpl.template, "empty template name"));
            }
            tpl.file_uid()
                .map_err(|r| bad_template(path, &tpl.template, &r))?;
            tpl.file_gid()
                .map_err(|r| bad_template(path, &tpl.template, &r))?;
            tpl.file_mode()
                .map_err(|r| bad_template(path, &tpl.template, &r))?;
        }
        Ok(())
    }
}

fn bad_template(path: &str, template: &str, reason: &str) -> Error {
    Error::InvalidMetadata(format!(
        "metadata.yaml: template {template:?} for {path:?}: {reason}"
    ))
}

impl TemplateEntry {
    /// The uid for a newly created file (upstream: decimal, default 0).
    pub fn file_uid(&self) -> std::result::Result<u32, String> {
        parse_id(self.uid.as_deref(), "uid")
    }

    /// The gid for a newly created file (upstream: decimal, default 0).
    pub fn file_gid(&self) -> std::result::Result<u32, String> {
        parse_id(self.gid.as_deref(), "gid")
    }

    /// The mode for a newly created file. As upstream: a 3-digit value gets a leading 0, then the
    /// number is read like Go's `ParseInt(s, 0, 0)` (0x hex, 0o or leading 0 octal, else decimal).
    pub fn file_mode(&self) -> std::result::Result<u32, String> {
        let Some(raw) = self.mode.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(0o644);
        };
        let s = if raw.len() == 3 {
            format!("0{raw}")
        } else {
            raw.to_string()
        };
        let parsed = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            u32::from_str_radix(h, 16)
        } else if let Some(o) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
            u32::from_str_radix(o, 8)
        } else if let Some(b) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
            u32::from_str_radix(b, 2)
        } else if s.len() > 1 && s.starts_with('0') {
            u32::from_str_radix(&s[1..], 8)
        } else {
            s.parse::<u32>()
        };
        match parsed {
            Ok(m) if m <= 0o7777 => Ok(m),
            _ => Err(format!("bad mode {raw:?}")),
        }
    }
}

fn parse_id(v: Option<&str>, what: &str) -> std::result::Result<u32, String> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(s) => s.parse::<u32>().map_err(|_| format!("bad {what} {s:?}")),
    }
}

/// Scalars as strings, the way Go's yaml fills a `string` field (`release: 1.35` -> "1.35").
fn scalar_to_string(v: serde_yaml_ng::Value) -> std::result::Result<String, String> {
    use serde_yaml_ng::Value;
    match v {
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s),
        Value::Tagged(t) => scalar_to_string(t.value),
        Value::Sequence(_) | Value::Mapping(_) => {
            Err("expected a string, found a list or map".into())
        }
    }
}

fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, serde_yaml_ng::Value>> = Option::deserialize(d)?;
    let mut out = BTreeMap::new();
    for (k, v) in raw.unwrap_or_default() {
        let s = scalar_to_string(v).map_err(|e| serde::de::Error::custom(format!("{k}: {e}")))?;
        out.insert(k, s);
    }
    Ok(out)
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let raw: Option<serde_yaml_ng::Value> = Option::deserialize(d)?;
    match raw {
        None | Some(serde_yaml_ng::Value::Null) => Ok(None),
        Some(v) => scalar_to_string(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}
