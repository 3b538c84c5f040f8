//! Instance filters, one implementation for both front ends: upstream's REST clause
//! language (`GET /1.0/instances?filter=status eq running and not ephemeral eq true`)
//! and the CLI's shorthand (`incus list web status=running s.privileged=true`), which
//! becomes the same clauses.
//!
//! As upstream: clauses are `[not] FIELD eq|ne VALUE`, joined by `and`/`or` and evaluated
//! left to right; fields are the instance's JSON names, dotted into objects, and
//! `config.KEY`/`expanded_config.KEY` take the key whole (or abbreviated, `s.privileged`);
//! string values compare without regard to case, and `a,b` matches either. Upstream also
//! reads a value as an anchored regular expression; here it is compared literally.

use incus_api::{Error, Instance, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// The field equals the value (or one of its comma-separated values).
    Equals(String),
    /// The CLI's bare word: the name starts with it.
    NamePrefix(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    /// Joined to what came before by `or` (else `and`).
    or: bool,
    /// The result is negated (`not`, or the `ne` operator).
    negate: bool,
    field: String,
    test: Test,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    clauses: Vec<Clause>,
}

impl Filter {
    /// Upstream's REST `filter=` language.
    pub fn parse(s: &str) -> Result<Filter> {
        let bad = |why: &str| Error::invalid(format!("Invalid filter \"{s}\": {why}"));
        let words = shell_words::split(s).map_err(|_| bad("unterminated quote"))?;
        let mut words = words.into_iter().peekable();
        let mut clauses = Vec::new();
        let mut or = false;
        while words.peek().is_some() {
            let mut negate = false;
            if words.peek().is_some_and(|w| w.eq_ignore_ascii_case("not")) {
                negate = true;
                words.next();
            }
            let field = words.next().ok_or_else(|| bad("incomplete not clause"))?;
            let op = words.next().ok_or_else(|| bad("clause has no operator"))?;
            let value = words.next().ok_or_else(|| bad("clause has no value"))?;
            match op.as_str() {
                "eq" => {}
                "ne" => negate = !negate,
                _ => return Err(Error::invalid(format!("Invalid filter operator \"{op}\""))),
            }
            clauses.push(Clause {
                or,
                negate,
                field,
                test: Test::Equals(value),
            });
            if let Some(conj) = words.next() {
                or = match conj.as_str() {
                    "and" => false,
                    "or" => true,
                    w => {
                        return Err(Error::invalid(format!(
                            "Invalid filter conjunction \"{w}\""
                        )))
                    }
                };
                if words.peek().is_none() {
                    return Err(bad("unterminated compound clause"));
                }
            }
        }
        Ok(Filter { clauses })
    }

    /// The CLI's `incus list [FILTER...]`, all of which must hold: a bare word is a
    /// name prefix; `KEY=VALUE` tests a field of the instance when KEY is one (`type`,
    /// `status`, `architecture`, ...; `state` is `status`), else `expanded_config.KEY`.
    pub fn from_cli(filters: &[String]) -> Filter {
        let fields = serde_json::to_value(Instance::default()).unwrap_or_default();
        let clauses = filters
            .iter()
            .map(|f| {
                let (field, test) = match f.split_once('=') {
                    None => ("name".to_string(), Test::NamePrefix(f.clone())),
                    Some(("state", v)) => ("status".to_string(), Test::Equals(v.to_string())),
                    Some((k, v)) if !k.contains('.') && fields.get(k).is_some() => {
                        (k.to_string(), Test::Equals(v.to_string()))
                    }
                    Some((k, v)) => (format!("expanded_config.{k}"), Test::Equals(v.to_string())),
                };
                Clause {
                    or: false,
                    negate: false,
                    field,
                    test,
                }
            })
            .collect();
        Filter { clauses }
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    pub fn matches(&self, inst: &Instance) -> bool {
        if self.clauses.is_empty() {
            return true;
        }
        self.matches_value(&serde_json::to_value(inst).unwrap_or_default())
    }

    /// The same test on any object's JSON (storage volumes, images: upstream's
    /// `filter=` applies to every collection that takes it).
    pub fn matches_value(&self, v: &Value) -> bool {
        let mut acc = true;
        for c in &self.clauses {
            let got = lookup(v, &c.field);
            let hit = match (&c.test, got) {
                (_, None) => false,
                (Test::NamePrefix(p), Some(got)) => got.starts_with(p.as_str()),
                (Test::Equals(want), Some(got)) => {
                    got.eq_ignore_ascii_case(want)
                        || want.split(',').any(|w| got.eq_ignore_ascii_case(w))
                }
            } != c.negate;
            acc = if c.or { acc || hit } else { acc && hit };
        }
        acc
    }
}

/// A dotted field of the instance as text; config keys themselves contain dots and may
/// be abbreviated by namespace (`s.privileged` for `security.privileged`).
fn lookup(v: &Value, field: &str) -> Option<String> {
    for map in ["config", "expanded_config"] {
        if let Some(key) = field.strip_prefix(&format!("{map}.")) {
            let m = v.get(map)?.as_object()?;
            let found = m.get(key).or_else(|| {
                m.iter()
                    .find(|(full, _)| abbreviation_matches(key, full))
                    .map(|(_, v)| v)
            })?;
            return found.as_str().map(str::to_string);
        }
    }
    let mut cur = v;
    for part in field.split('.') {
        cur = cur.get(part)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `s.privileged` abbreviates `security.privileged`: as many members, each a prefix.
fn abbreviation_matches(short: &str, full: &str) -> bool {
    let (sp, fp): (Vec<&str>, Vec<&str>) = (short.split('.').collect(), full.split('.').collect());
    sp.len() == fp.len()
        && sp
            .iter()
            .zip(&fp)
            .all(|(s, f)| !s.is_empty() && f.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web1() -> Instance {
        Instance {
            name: "web1".into(),
            instance_type: "container".into(),
            status: "Running".into(),
            architecture: "x86_64".into(),
            config: [("image.os".to_string(), "Debian".to_string())].into(),
            expanded_config: [("security.privileged".to_string(), "true".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn rest_clauses_as_upstream_clients_send_them() {
        let i = web1();
        // The upstream 6.0 client turns `incus list status=running` into this.
        assert!(Filter::parse("status eq running").unwrap().matches(&i));
        assert!(Filter::parse("status eq Running").unwrap().matches(&i));
        assert!(!Filter::parse("status eq stopped").unwrap().matches(&i));
        assert!(Filter::parse("status eq stopped,running")
            .unwrap()
            .matches(&i));
        assert!(Filter::parse("status ne stopped").unwrap().matches(&i));
        assert!(Filter::parse("not status eq stopped").unwrap().matches(&i));
        assert!(Filter::parse("config.image.os eq debian")
            .unwrap()
            .matches(&i));
        assert!(Filter::parse("expanded_config.s.privileged eq true")
            .unwrap()
            .matches(&i));
        assert!(Filter::parse("name eq db or type eq container")
            .unwrap()
            .matches(&i));
        assert!(!Filter::parse("name eq db and type eq container")
            .unwrap()
            .matches(&i));
        assert!(Filter::parse("description eq ''").unwrap().matches(&i));
        assert!(Filter::parse("ephemeral eq false").unwrap().matches(&i));
        assert!(!Filter::parse("missing eq x").unwrap().matches(&i));
        assert!(Filter::parse("").unwrap().matches(&i));
    }

    #[test]
    fn bad_rest_filters_are_refused() {
        for bad in [
            "status",
            "status eq",
            "status gt 1",
            "not",
            "status eq running and",
            "status eq running xor name eq a",
            "name eq 'unterminated",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_shorthand() {
        let i = web1();
        let f = |args: &[&str]| {
            Filter::from_cli(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).matches(&i)
        };
        assert!(f(&[]));
        assert!(f(&["web"]));
        assert!(!f(&["db"]));
        assert!(f(&["s.privileged=true"]));
        assert!(f(&["state=RUNNING", "type=container"]));
        assert!(f(&["architecture=x86_64"]));
        assert!(!f(&["security.privileged=false"]));
        assert!(!f(&["web", "status=stopped"]));
    }
}
