//! Shared command-line pieces. No domain logic lives here.

use clap::{Args, ValueEnum};

pub mod device;
mod output;
use incus_api::{Error, Result};
pub use output::write_output;
use serde::Serialize;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

/// Flags every tool accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Project to act on (default: the current project of the remote, `project switch`)
    #[arg(long, global = true, env = "INCUS_PROJECT", default_value = "default")]
    pub project: String,
    /// Print less
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Output formats of every list and show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Bordered table
    #[default]
    Table,
    /// Comma-separated values, no header
    Csv,
    /// The REST objects as JSON
    Json,
    /// The REST objects as YAML
    Yaml,
    /// Table without borders
    Compact,
}

/// `-f/--format` of every list command (default table): flattened into each
/// (`#[command(flatten)] format: ListFormat`), the one declaration of the flag.
#[derive(Debug, Clone, Copy, Args)]
pub struct ListFormat {
    /// Output format
    #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `-f/--format` of every show command (default yaml), flattened as [`ListFormat`].
#[derive(Debug, Clone, Copy, Args)]
pub struct ShowFormat {
    /// Output format
    #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
}

impl From<ListFormat> for Format {
    fn from(f: ListFormat) -> Format {
        f.format
    }
}

impl From<ShowFormat> for Format {
    fn from(f: ShowFormat) -> Format {
        f.format
    }
}

/// Renders rows in the chosen format; `objects` is what json and yaml print.
pub fn print_list<T: Serialize + ?Sized>(
    format: impl Into<Format>,
    headers: &[&str],
    rows: &[Vec<String>],
    objects: &T,
) -> Result<()> {
    let out = render_list(format, headers, rows, objects)?;
    write_stdout(&out)
}

/// Like [`print_list`], into a string (tests compare it).
pub fn render_list<T: Serialize + ?Sized>(
    format: impl Into<Format>,
    headers: &[&str],
    rows: &[Vec<String>],
    objects: &T,
) -> Result<String> {
    let format = format.into();
    match format {
        Format::Json => Ok(to_json(objects)? + "\n"),
        Format::Yaml => to_yaml(objects),
        Format::Csv => {
            let mut s = String::new();
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                s.push_str(&cells.join(","));
                s.push('\n');
            }
            Ok(s)
        }
        Format::Table | Format::Compact => {
            let mut b = tabled::builder::Builder::default();
            b.push_record(headers.iter().map(|h| h.to_string()));
            for row in rows {
                b.push_record(row.clone());
            }
            let mut table = b.build();
            if format == Format::Table {
                table.with(tabled::settings::Style::ascii());
            } else {
                table.with(tabled::settings::Style::blank());
            }
            Ok(table.to_string() + "\n")
        }
    }
}

/// Quoted by Go's `encoding/csv` rule, which upstream's client uses: a delimiter, a
/// quote or a line break inside, or leading white space (so `" "` stays visible).
fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) || c.starts_with(char::is_whitespace) || c == "\\." {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

/// JSON as the REST metadata (compact, one line, as upstream's client prints).
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("JSON: {e}")))
}

/// YAML of a REST object.
pub fn to_yaml<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_yaml_ng::to_string(v).map_err(|e| Error::internal(format!("YAML: {e}")))
}

/// Prints one object (`show`): YAML by default; JSON as the REST object; table,
/// compact and csv as one `KEY VALUE` row per leaf, keys dotted (`devices.root.pool`).
pub fn print_show<T: Serialize + ?Sized>(format: impl Into<Format>, v: &T) -> Result<()> {
    write_stdout(&render_show(format, v)?)
}

/// Like [`print_show`], into a string.
pub fn render_show<T: Serialize + ?Sized>(format: impl Into<Format>, v: &T) -> Result<String> {
    let format = format.into();
    match format {
        Format::Yaml => to_yaml(v),
        Format::Json => Ok(to_json(v)? + "\n"),
        Format::Table | Format::Compact | Format::Csv => {
            let value =
                serde_json::to_value(v).map_err(|e| Error::internal(format!("JSON: {e}")))?;
            let mut rows = Vec::new();
            flatten("", &value, &mut rows);
            render_list(format, &["KEY", "VALUE"], &rows, &())
        }
    }
}

/// Leaves of a JSON value as `[dotted.key, value]` rows; empty containers are kept as
/// an empty value so that every field shows.
fn flatten(prefix: &str, v: &serde_json::Value, rows: &mut Vec<Vec<String>>) {
    use serde_json::Value;
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&key(k), v, rows);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                flatten(&key(&i.to_string()), v, rows);
            }
        }
        Value::Object(_) | Value::Array(_) | Value::Null => {
            rows.push(vec![prefix.to_string(), String::new()])
        }
        Value::String(s) => rows.push(vec![prefix.to_string(), s.clone()]),
        other => rows.push(vec![prefix.to_string(), other.to_string()]),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::internal(format!("stdout: {e}"))),
    }
}

/// Runs a tool's body: `Error: ...` on stderr and the exit code of its kind; the
/// warnings core recorded on the way (`incus_api::warning`) as `Warning: ...` first.
pub fn run(body: impl FnOnce() -> Result<ExitCode>) -> ExitCode {
    let result = body();
    for w in incus_api::warning::take() {
        eprintln!("Warning: {w}");
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {}", e.message);
            ExitCode::from(e.kind.exit_code() as u8)
        }
    }
}

/// A tool's `main`: parses argv (see [`parse`]) and runs `body` on the result, an error
/// becoming its message and exit code (see [`run`]).
pub fn main_with<P: clap::Parser>(body: impl FnOnce(P) -> Result<ExitCode>) -> ExitCode {
    match parse::<P>() {
        Ok(p) => run(|| body(p)),
        Err(code) => code,
    }
}

/// Parses argv with clap; usage errors exit 2 with clap's message, help exits 0.
pub fn parse<P: clap::Parser>() -> std::result::Result<P, ExitCode> {
    match P::try_parse() {
        Ok(p) => Ok(p),
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 2,
            };
            let _ = e.print();
            Err(ExitCode::from(code))
        }
    }
}

/// Parses `KEY=VALUE` arguments.
pub fn parse_pairs(pairs: &[String]) -> Result<incus_api::Config> {
    let mut out = incus_api::Config::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("Bad key=value pair: \"{p}\"")))?;
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The arguments of a `set` command after the object name: `KEY VALUE` or
/// `KEY=VALUE...` (upstream accepts both); a value of `-` reads standard input.
pub fn parse_set_args(args: &[String]) -> Result<incus_api::Config> {
    let mut pairs = if args.len() == 2 && !args[0].contains('=') {
        [(args[0].clone(), args[1].clone())].into()
    } else {
        parse_pairs(args)?
    };
    for v in pairs.values_mut() {
        *v = value_or_stdin(v)?;
    }
    Ok(pairs)
}

/// A value argument where `-` means "read standard input" (as upstream's `config set`).
pub fn value_or_stdin(v: &str) -> Result<String> {
    if v != "-" {
        return Ok(v.to_string());
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}

/// `edit`: YAML from stdin when it is not a terminal (scripts), else `$EDITOR` (or
/// `vi`) on a temporary file holding `current`; returns the edited text.
pub fn edit_text(current: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    let mut f = tempfile::Builder::new().suffix(".yaml").tempfile()?;
    f.write_all(current.as_bytes())?;
    f.flush()?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let words: Vec<&str> = editor.split_whitespace().collect();
    let status = std::process::Command::new(words[0])
        .args(&words[1..])
        .arg(f.path())
        .status()
        .map_err(|e| Error::internal(format!("Run editor {editor}: {e}")))?;
    if !status.success() {
        return Err(Error::invalid(
            "Editor exited with an error; nothing changed",
        ));
    }
    Ok(std::fs::read_to_string(f.path())?)
}

/// Parses YAML into a writable REST object, with a clear error.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::invalid(format!("Invalid YAML: {e}")))
}

/// A progress reporter: a bar on a terminal stderr, nothing otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(message: &str, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_message(message.to_string());
            b
        });
        Progress { bar }
    }
    /// Updates the bar (bytes done of total).
    pub fn update(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
        }
    }
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Upstream's `-c LETTERS` of the lists whose columns are single letters: the chosen
/// (letter, header) pairs in order; commas separate runs, as upstream splits on them.
pub fn letter_columns(
    spec: &str,
    known: &[(char, &'static str)],
) -> Result<Vec<(char, &'static str)>> {
    let mut out = Vec::new();
    for entry in spec.split(',') {
        if entry.is_empty() {
            return Err(Error::usage(format!(
                "Empty column entry (redundant, leading or trailing command) in '{spec}'"
            )));
        }
        for c in entry.chars() {
            let col = known.iter().find(|(k, _)| *k == c).ok_or_else(|| {
                Error::usage(format!("Unknown column shorthand char '{c}' in '{entry}'"))
            })?;
            out.push(*col);
        }
    }
    Ok(out)
}

/// Prints a list by [`letter_columns`]: `cell(item, letter)` gives each cell.
pub fn print_letter_list<T: Serialize>(
    format: impl Into<Format>,
    spec: &str,
    known: &[(char, &'static str)],
    items: &[T],
    cell: impl Fn(&T, char) -> String,
) -> Result<()> {
    let cols = letter_columns(spec, known)?;
    let headers: Vec<&str> = cols.iter().map(|(_, h)| *h).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| cols.iter().map(|(c, _)| cell(i, *c)).collect())
        .collect();
    print_list(format, &headers, &rows, items)
}

/// An image size as upstream's client prints it in `image list` and `image info`:
/// always in MiB (`0.84MiB`).
pub fn image_size(bytes: i64) -> String {
    format!("{:.2}MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// Formats bytes as upstream's client does (`1.50MiB`).
pub fn human_size(bytes: i64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.2}{}", UNITS[i])
    }
}

/// Upstream's list date format (`2024/01/31 12:00 UTC`) from RFC 3339.
pub fn list_date(rfc3339: &str) -> String {
    if rfc3339.is_empty() || rfc3339.starts_with("0001-") || rfc3339.starts_with("1970-") {
        return String::new();
    }
    let date = rfc3339.get(0..10).unwrap_or("").replace('-', "/");
    let time = rfc3339.get(11..16).unwrap_or("");
    format!("{date} {time} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_no_header_and_quotes() {
        let rows = vec![vec!["a".to_string(), "x,y".to_string()]];
        let s = render_list(Format::Csv, &["N", "V"], &rows, &()).unwrap();
        assert_eq!(s, "a,\"x,y\"\n");
    }

    #[test]
    fn table_and_compact() {
        let rows = vec![vec!["c1".to_string(), "STOPPED".to_string()]];
        let t = render_list(Format::Table, &["NAME", "STATE"], &rows, &()).unwrap();
        assert!(t.contains("| NAME") && t.contains("c1") && t.starts_with('+'));
        let c = render_list(Format::Compact, &["NAME", "STATE"], &rows, &()).unwrap();
        assert!(!c.contains('|') && c.contains("NAME"));
    }

    #[test]
    fn show_flattens_for_tables() {
        let v = serde_json::json!({"name": "c1", "devices": {"root": {"pool": "default"}}, "profiles": ["a", "b"], "config": {}});
        let csv = render_show(Format::Csv, &v).unwrap();
        assert!(csv.contains("name,c1\n"), "{csv}");
        assert!(csv.contains("devices.root.pool,default\n"), "{csv}");
        assert!(csv.contains("profiles.1,b\n"), "{csv}");
        assert!(csv.contains("config,\n"), "{csv}");
        let yaml = render_show(Format::Yaml, &v).unwrap();
        assert!(yaml.contains("name: c1"));
    }

    #[test]
    fn set_args_both_forms() {
        let kv = parse_set_args(&["limits.cpu".into(), "2".into()]).unwrap();
        assert_eq!(kv["limits.cpu"], "2");
        let kv = parse_set_args(&["a.b=1".into(), "c.d=".into()]).unwrap();
        assert_eq!(kv["a.b"], "1");
        assert_eq!(kv["c.d"], "");
        assert!(parse_set_args(&["nopair".into()]).is_err());
    }

    #[test]
    fn sizes_and_dates() {
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1536 * 1024), "1.50MiB");
        assert_eq!(list_date("2024-01-31T12:34:56Z"), "2024/01/31 12:34 UTC");
        assert_eq!(list_date("0001-01-01T00:00:00Z"), "");
    }
}
