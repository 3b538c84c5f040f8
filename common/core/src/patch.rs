//! Upstream's PATCH rule, shared by every object that has one (instances, profiles,
//! storage pools, custom volumes, images): the config keys and devices given replace
//! the current ones one by one, the others stay; a given description replaces it.

use incus_api::{Config, Devices, Error, Result};

/// Merges a PATCH body into an object's current config, devices and description.
pub fn merge(
    config: &mut Config,
    devices: &mut Devices,
    description: &mut String,
    patch: &serde_json::Value,
) -> Result<()> {
    if !patch.is_object() {
        return Err(Error::invalid("Invalid request body: expected an object"));
    }
    if let Some(c) = patch.get("config") {
        let c: Config = serde_json::from_value(c.clone())
            .map_err(|e| Error::invalid(format!("Invalid config: {e}")))?;
        config.extend(c);
    }
    if let Some(d) = patch.get("devices") {
        let d: Devices = serde_json::from_value(d.clone())
            .map_err(|e| Error::invalid(format!("Invalid devices: {e}")))?;
        devices.extend(d);
    }
    if let Some(s) = patch.get("description").and_then(|s| s.as_str()) {
        *description = s.to_string();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_keys_replace_the_others_stay() {
        let mut config: Config = [("a".to_string(), "1".to_string())].into();
        let mut devices = Devices::default();
        let mut description = "old".to_string();
        merge(
            &mut config,
            &mut devices,
            &mut description,
            &json!({"config": {"b": "2"}, "devices": {"eth0": {"type": "nic"}}}),
        )
        .unwrap();
        assert_eq!(config.len(), 2);
        assert!(devices.contains_key("eth0"));
        assert_eq!(description, "old");
        merge(
            &mut config,
            &mut devices,
            &mut description,
            &json!({"description": "new"}),
        )
        .unwrap();
        assert_eq!(description, "new");
        assert!(merge(&mut config, &mut devices, &mut description, &json!([1])).is_err());
        assert!(merge(
            &mut config,
            &mut devices,
            &mut description,
            &json!({"config": 3})
        )
        .is_err());
        assert_eq!(config.len(), 2);
    }
}
