//! Questions on standard output, answers read line by line from standard input (a
//! terminal or a pipe), as upstream's asker. An empty answer takes the default; the
//! end of the input is an error (nothing is applied), as upstream's.

use incus_api::{Error, Result};
use std::io::{BufRead, Write};

pub(crate) struct Asker<R> {
    input: R,
}

impl Asker<std::io::StdinLock<'static>> {
    pub(crate) fn stdin() -> Self {
        Asker {
            input: std::io::stdin().lock(),
        }
    }
}

impl<R: BufRead> Asker<R> {
    /// One answer line; None at the end of the input.
    pub(crate) fn line(&mut self, question: &str) -> Result<Option<String>> {
        print!("{question}");
        std::io::stdout().flush()?;
        let mut s = String::new();
        if self.input.read_line(&mut s)? == 0 {
            println!();
            return Ok(None);
        }
        Ok(Some(s.trim().to_string()))
    }

    pub(crate) fn bool(&mut self, question: &str, default: bool) -> Result<bool> {
        loop {
            match self.line(question)?.as_deref() {
                None => return Err(Error::usage("No answer (end of input)")),
                Some("") => return Ok(default),
                Some(a) if ["yes", "y"].contains(&a.to_lowercase().as_str()) => return Ok(true),
                Some(a) if ["no", "n"].contains(&a.to_lowercase().as_str()) => return Ok(false),
                Some(_) => println!("Invalid input, try again.\n"),
            }
        }
    }

    pub(crate) fn string(
        &mut self,
        question: &str,
        check: impl Fn(&str) -> Result<()>,
    ) -> Result<String> {
        loop {
            let Some(a) = self.line(question)? else {
                return Err(Error::usage("No answer (end of input)"));
            };
            match check(&a) {
                Ok(()) => return Ok(a),
                Err(e) => println!("Invalid input: {}\n", e.message),
            }
        }
    }
}

impl<R: BufRead> Asker<R> {
    /// A question with a default (an empty answer or the end of the input takes it).
    pub(crate) fn string_or(
        &mut self,
        question: &str,
        default: &str,
        check: impl Fn(&str) -> Result<()>,
    ) -> Result<String> {
        loop {
            let a = match self.line(question)? {
                None => return Err(Error::usage("No answer (end of input)")),
                Some(a) if a.is_empty() => default.to_string(),
                Some(a) => a,
            };
            match check(&a) {
                Ok(()) => return Ok(a),
                Err(e) => println!("Invalid input: {}\n", e.message),
            }
        }
    }
}
