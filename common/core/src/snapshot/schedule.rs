//! `snapshots.schedule` (cron or aliases), `snapshots.expiry` and `snapshots.pattern`,
//! parsed as upstream reads them. A small parser: the cron crates on crates.io read
//! six or seven fields or lack upstream's `, `-separated alias lists.

use crate::{Error, Result};
use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Timelike, Utc};

/// One five-field cron expression: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq)]
struct Cron {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_any: bool,
    dow_any: bool,
}

/// A parsed `snapshots.schedule`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    crons: Vec<Cron>,
    /// `@startup`: a snapshot whenever the instance starts.
    pub startup: bool,
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field(spec: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Option<(u64, bool)> {
    let value = |s: &str| -> Option<u32> {
        if let Ok(n) = s.parse::<u32>() {
            return Some(n);
        }
        names
            .iter()
            .position(|n| *n == s)
            .map(|i| i as u32 + name_base)
    };
    let mut bits = 0u64;
    let mut any = false;
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            any = step == 1 && spec == part;
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            // `N/step` runs from N to the end, as in robfig/cron.
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Some((bits, any))
}

fn parse_cron(expr: &str) -> Option<Cron> {
    let f: Vec<&str> = expr.split_whitespace().collect();
    if f.len() != 5 {
        return None;
    }
    let (minute, _) = field(f[0], 0, 59, &[], 0)?;
    let (hour, _) = field(f[1], 0, 23, &[], 0)?;
    let (dom, dom_any) = field(f[2], 1, 31, &[], 0)?;
    let (month, _) = field(f[3], 1, 12, MONTHS, 1)?;
    let (mut dow, dow_any) = field(f[4], 0, 7, DAYS, 0)?;
    if dow & (1 << 7) != 0 {
        dow |= 1; // 7 is Sunday too
    }
    Some(Cron {
        minute,
        hour,
        dom,
        month,
        dow,
        dom_any,
        dow_any,
    })
}

impl Cron {
    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.dom & (1 << t.day()) != 0;
        let dow = self.dow & (1 << t.weekday().num_days_from_sunday()) != 0;
        // Standard cron: when both day fields are restricted, either may match.
        if self.dom_any || self.dow_any {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The latest minute `<= t` this expression fires at, not before `floor`.
    fn last_at_or_before(&self, t: DateTime<Utc>, floor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = t.with_second(0)?.with_nanosecond(0)?;
        while t >= floor {
            if self.month & (1 << t.month()) == 0 {
                // Back to the last minute of the previous month.
                t = Utc
                    .with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
                    .single()?
                    - Duration::minutes(1);
                continue;
            }
            if !self.day_matches(&t) {
                t = t.with_hour(0)?.with_minute(0)? - Duration::minutes(1);
                continue;
            }
            if self.hour & (1 << t.hour()) == 0 {
                t = t.with_minute(0)? - Duration::minutes(1);
                continue;
            }
            if self.minute & (1 << t.minute()) == 0 {
                t -= Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }
}

impl Schedule {
    /// Parses upstream's syntax: empty, or a `, `-separated list of aliases
    /// (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@annually`,
    /// `@yearly`, `@startup`, `@never`) and five-field cron expressions.
    pub fn parse(value: &str) -> Result<Schedule> {
        let mut s = Schedule::default();
        let value = value.trim().to_ascii_lowercase();
        if value.is_empty() {
            return Ok(s);
        }
        for trigger in value.split(", ") {
            let trigger = trigger.trim();
            let expr = match trigger {
                "@startup" => {
                    s.startup = true;
                    continue;
                }
                "@never" => continue,
                "@hourly" => "0 * * * *",
                "@daily" | "@midnight" => "0 0 * * *",
                "@weekly" => "0 0 * * 0",
                "@monthly" => "0 0 1 * *",
                "@yearly" | "@annually" => "0 0 1 1 *",
                other => other,
            };
            let cron = parse_cron(expr).ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid value for snapshots.schedule \"{trigger}\": a schedule is \
                     <minute> <hour> <day-of-month> <month> <day-of-week> or one of @hourly, \
                     @daily, @midnight, @weekly, @monthly, @annually, @yearly, @startup, @never"
                ))
            })?;
            s.crons.push(cron);
        }
        Ok(s)
    }

    /// Whether there are timed triggers (not only `@startup`).
    pub fn is_timed(&self) -> bool {
        !self.crons.is_empty()
    }

    /// The latest scheduled minute in `(after, now]`, if any: the slot that is due.
    pub fn due(&self, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let floor = after + Duration::minutes(1);
        let floor = floor.with_second(0)?.with_nanosecond(0)?;
        self.crons
            .iter()
            .filter_map(|c| c.last_at_or_before(now, floor))
            .filter(|t| *t > after)
            .max()
    }
}

const MAX_EXPIRY_MONTHS: i64 = 1000 * 12;

/// A parsed `snapshots.expiry` (`1M 2H 3d 4w 5m 6y`: minutes, hours, days, weeks,
/// months, years, as upstream's units).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expiry {
    minutes: i64,
    months: u32,
}

impl Expiry {
    pub fn parse(value: &str) -> Result<Option<Expiry>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let bad = || {
            Error::invalid(format!(
                "Invalid value for snapshots.expiry \"{value}\": use a list like \
                 \"1M 2H 3d 4w 5m 6y\" (M minutes, H hours, d days, w weeks, m months, y years)"
            ))
        };
        let mut e = Expiry::default();
        for tok in value.split_whitespace() {
            let unit = tok.chars().last().ok_or_else(bad)?;
            let n = tok[..tok.len() - unit.len_utf8()]
                .parse::<u64>()
                .map(|n| n.min(i64::MAX as u64) as i64)
                .map_err(|_| bad())?;
            let (minutes, months) = match unit {
                'M' => (n, 0),
                'H' => (n.saturating_mul(60), 0),
                'd' => (n.saturating_mul(60 * 24), 0),
                'w' => (n.saturating_mul(60 * 24 * 7), 0),
                'm' => (0, n),
                'y' => (0, n.saturating_mul(12)),
                _ => return Err(bad()),
            };
            e.minutes = e.minutes.saturating_add(minutes);
            let months = (e.months as i64).saturating_add(months);
            // Beyond a thousand years is a typo, and would overflow the calendar.
            if e.minutes > MAX_EXPIRY_MONTHS * 31 * 24 * 60 || months > MAX_EXPIRY_MONTHS {
                return Err(Error::invalid(format!(
                    "Invalid value for snapshots.expiry \"{value}\": longer than 1000 years"
                )));
            }
            e.months = months as u32;
        }
        Ok(Some(e))
    }

    /// The moment a snapshot taken at `from` expires.
    pub fn after(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        let t = from
            .checked_add_months(Months::new(self.months))
            .unwrap_or(from);
        t + Duration::minutes(self.minutes)
    }
}

/// Renders `snapshots.pattern` (a Pongo2 template upstream): `{{ creation_date|date:"2006-01-02" }}`
/// with Go's reference layout. `%d` is left for the caller's counter.
pub fn render_pattern(pattern: &str, now: DateTime<Utc>) -> Result<String> {
    if !pattern.contains("{{") && !pattern.contains("{%") {
        return Ok(pattern.to_string());
    }
    let mut env = minijinja::Environment::new();
    // Pongo2 writes filter arguments after a colon; minijinja takes parentheses.
    let src = convert_filter_args(pattern);
    env.add_filter("date", |v: String, layout: String| -> String {
        DateTime::parse_from_rfc3339(&v)
            .map(|t| t.format(&go_layout(&layout)).to_string())
            .unwrap_or(v)
    });
    env.add_template("pattern", &src)
        .map_err(|e| Error::invalid(format!("Invalid snapshots.pattern: {e}")))?;
    let tmpl = env.get_template("pattern").expect("added above");
    tmpl.render(minijinja::context! { creation_date => now.to_rfc3339() })
        .map_err(|e| Error::invalid(format!("Invalid snapshots.pattern: {e}")))
}

fn convert_filter_args(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("|date:") {
        out.push_str(&rest[..i]);
        rest = &rest[i + 6..];
        let q = rest.chars().next().unwrap_or('"');
        let end = rest[1..].find(q).map(|e| e + 2).unwrap_or(rest.len());
        out.push_str(&format!("|date({})", &rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Go's reference-time layout to a chrono format string.
fn go_layout(layout: &str) -> String {
    const TOKENS: &[(&str, &str)] = &[
        ("2006", "%Y"),
        ("January", "%B"),
        ("Jan", "%b"),
        ("Monday", "%A"),
        ("Mon", "%a"),
        ("MST", "UTC"),
        ("01", "%m"),
        ("02", "%d"),
        ("15", "%H"),
        ("03", "%I"),
        ("04", "%M"),
        ("05", "%S"),
        ("06", "%y"),
        ("PM", "%p"),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, ch) in TOKENS {
            if let Some(r) = rest.strip_prefix(go) {
                out.push_str(ch);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The next name from a rendered pattern, as upstream: one `%d` at most, replaced by
/// one more than the highest index in use (0 when none); a pattern without `%d` whose
/// name is taken gets `-%d` appended.
pub fn next_name(pattern: &str, existing: &[String]) -> Result<String> {
    let count = pattern.matches("%d").count();
    if count > 1 {
        return Err(Error::invalid(
            "Snapshot pattern may contain '%d' only once",
        ));
    }
    let mut pattern = pattern.to_string();
    if count == 0 {
        if !existing.contains(&pattern) {
            return Ok(pattern);
        }
        pattern.push_str("-%d");
    }
    let (pre, post) = pattern.split_once("%d").expect("one %d");
    let next = existing
        .iter()
        .filter_map(|e| e.strip_prefix(pre)?.strip_suffix(post)?.parse::<u64>().ok())
        .max()
        .map_or(0, |m| m + 1);
    Ok(format!("{pre}{next}{post}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cron_and_aliases() {
        let s = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            s.due(t("2026-01-01T09:00:00Z"), t("2026-01-01T10:30:00Z")),
            Some(t("2026-01-01T10:00:00Z"))
        );
        assert_eq!(
            s.due(t("2026-01-01T10:00:00Z"), t("2026-01-01T10:59:59Z")),
            None
        );
        let s = Schedule::parse("*/15 2-3 * * mon-fri").unwrap();
        // 2026-01-03 is a Saturday: the last slot is Friday 03:45.
        assert_eq!(
            s.due(t("2025-12-01T00:00:00Z"), t("2026-01-03T12:00:00Z")),
            Some(t("2026-01-02T03:45:00Z"))
        );
        let s = Schedule::parse("@startup, @daily").unwrap();
        assert!(s.startup);
        assert_eq!(
            s.due(t("2025-12-30T00:00:00Z"), t("2026-01-01T00:00:00Z")),
            Some(t("2026-01-01T00:00:00Z"))
        );
        let s = Schedule::parse("0 0 1 1 *").unwrap();
        assert_eq!(
            s.due(t("2024-06-01T00:00:00Z"), t("2026-03-01T00:00:00Z")),
            Some(t("2026-01-01T00:00:00Z"))
        );
        // Both day fields restricted: either matches (the 13th, or any Friday).
        let s = Schedule::parse("0 12 13 * 5").unwrap();
        assert_eq!(
            s.due(t("2026-01-01T00:00:00Z"), t("2026-01-10T00:00:00Z")),
            Some(t("2026-01-09T12:00:00Z"))
        );
        assert!(!Schedule::parse("@never").unwrap().is_timed());
        assert!(Schedule::parse("").unwrap() == Schedule::default());
        for bad in [
            "@sometimes",
            "* * * *",
            "61 * * * *",
            "* * * * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@daily,@hourly",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_units_as_upstream() {
        let e = Expiry::parse("1M 2H 3d 4w 5m 6y").unwrap().unwrap();
        let from = t("2026-01-31T00:00:00Z");
        // 77 months later is 2032-06-30 (clamped), then 4w 3d 2h 1m.
        assert_eq!(e.after(from), t("2032-07-31T02:01:00Z"));
        assert_eq!(Expiry::parse("").unwrap(), None);
        for bad in ["1x", "d", "1.5d", "-1d", "1D"] {
            assert!(Expiry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pattern_and_names() {
        let now = t("2026-02-03T04:05:06Z");
        assert_eq!(render_pattern("snap%d", now).unwrap(), "snap%d");
        assert_eq!(
            render_pattern("{{ creation_date|date:'2006-01-02_15-04-05' }}", now).unwrap(),
            "2026-02-03_04-05-06"
        );
        assert_eq!(next_name("snap%d", &[]).unwrap(), "snap0");
        let have = vec!["snap0".to_string(), "snap4".into(), "other".into()];
        assert_eq!(next_name("snap%d", &have).unwrap(), "snap5");
        assert_eq!(next_name("other", &have).unwrap(), "other-0");
        assert_eq!(next_name("fresh", &have).unwrap(), "fresh");
        assert!(next_name("a%d%d", &have).is_err());
    }

    proptest::proptest! {
        /// Any schedule or expiry string gets an answer, never a panic; a parsed
        /// schedule's due slot lies in its window; an expiry never ends before it starts.
        #[test]
        fn schedules_and_expiries_never_panic(
            text in "\\PC{0,30}|[0-9*/,@ a-z-]{0,30}|[0-9]{1,12}[MHdwmy]( [0-9]{1,12}[MHdwmy]){0,3}",
            start in 0i64..4_000_000_000,
            span in 0i64..10_000_000,
        ) {
            let after = DateTime::from_timestamp(start, 0).unwrap();
            let now = after + Duration::seconds(span);
            if let Ok(s) = Schedule::parse(&text) {
                if let Some(slot) = s.due(after, now) {
                    proptest::prop_assert!(slot > after && slot <= now);
                }
            }
            if let Ok(Some(e)) = Expiry::parse(&text) {
                proptest::prop_assert!(e.after(after) >= after);
            }
            let _ = render_pattern(&text, now);
        }
    }
}
