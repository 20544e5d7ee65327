//! The master key that encrypts secrets at rest (signing keys and the like).
//!
//! In production it must come from configuration. In development, when none
//! is configured, one is generated once into `<data_dir>/master.key` (mode
//! 0600) and reused, so a zero-configuration server keeps its keys across
//! restarts.

use std::io::Write;
use std::path::Path;

use crate::config::MasterKey;

/// The file name inside the data directory.
pub const FILE_NAME: &str = "master.key";

/// Loads the generated key from `data_dir`, creating it on first use.
pub fn load_or_generate(data_dir: &Path) -> Result<MasterKey, String> {
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_hex(text.trim()).ok_or_else(|| {
            format!(
                "{} is not 64 hex digits; restore it from a backup, or delete it only if no data was encrypted with it",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| format!("the OS random source failed: {e}"))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            file.write_all(format!("{hex}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a master key for this development data directory");
            Ok(MasterKey(key))
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn parse_hex(text: &str) -> Option<MasterKey> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        key[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(MasterKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_generate(dir.path()).unwrap();
        let b = load_or_generate(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.0, [0u8; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "the key file must not be readable by others: {mode:o}"
            );
        }
        std::fs::write(dir.path().join(FILE_NAME), "garbage").unwrap();
        assert!(
            load_or_generate(dir.path())
                .unwrap_err()
                .contains("not 64 hex digits")
        );
    }
}
