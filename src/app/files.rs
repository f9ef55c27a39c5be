//! Writing the files the operator asks for (creds, server configuration, PEM, public keys):
//! atomically, so a crash leaves the old file or the new one, never half of one; with the mode
//! given from the start, so a secret file is never readable by others, even for a moment.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::AppError;

/// Mode of a file holding a secret (creds): owner read/write only.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of a public file.
pub const PUBLIC_MODE: u32 = 0o644;

/// Writes `bytes` to `path` through a temporary file in the same directory (created with
/// `mode`), synced, then renamed over `path`; the directory is synced too.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AppError> {
    let fail = |e: std::io::Error| AppError::Invalid(format!("cannot write {}: {e}", path.display()));
    if path.is_dir() {
        return Err(AppError::Invalid(format!("cannot write {}: it is a directory", path.display())));
    }
    let name = path
        .file_name()
        .ok_or_else(|| AppError::Invalid(format!("cannot write {}: it names no file", path.display())))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(fail)
}
