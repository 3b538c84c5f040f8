//! Errors of the layers below core (`incus_runtime`, `incus_imagefmt`) as core's errors,
//! with the kind a user sees.

use crate::Error;

/// Maps a runtime error: what the user asked wrongly is Invalid, the rest internal.
pub(crate) fn runtime_error(e: incus_runtime::Error) -> Error {
    use incus_runtime::Error as E;
    match e {
        E::AlreadyRunning => Error::invalid("The instance is already running"),
        E::NotRunning => Error::invalid("The instance is not running"),
        E::Invalid(m) => Error::invalid(m),
        E::Unsupported(m) => Error::unsupported(m),
        other => Error::internal(other.to_string()),
    }
}

/// Maps an image-format error: bad input is the user's (Invalid), the rest internal.
pub(crate) fn image_format_error(e: incus_imagefmt::Error) -> Error {
    if e.is_image_error() {
        Error::invalid(format!("Invalid image: {e}"))
    } else {
        Error::internal(format!("Image: {e}"))
    }
}

/// The same for a backup tarball (export and import of instances and volumes).
pub(crate) fn backup_format_error(e: incus_imagefmt::Error) -> Error {
    if e.is_image_error() {
        Error::invalid(format!("Invalid backup: {e}"))
    } else {
        Error::internal(format!("Backup: {e}"))
    }
}
