//! Integration tests of incus-imagefmt (one binary to keep link time down).

mod busybox;
mod common;
mod fuzz;
mod hostile;
mod roundtrip;
mod templates;
