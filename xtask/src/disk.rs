//! Disk space for the target directory.
//!
//! A CI run that runs out of disk fails in the linker with a bus error or
//! "No space left on device", far from the cause. `cargo xtask ci` checks the
//! space first and says what is needed, then reports how much the run used.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::cmd::{Cmd, project_root};

/// What a full `cargo xtask ci` leaves in an empty target directory, rounded
/// up: measured at 5.9 GiB with the workspace's debug-info settings
/// (Cargo.toml, `[profile.dev]`) and `CARGO_INCREMENTAL=0`, as `.ci/run` sets.
/// Keep it in step when the measurement in the run's summary grows.
pub(crate) const FULL_RUN_GIB: u64 = 8;

/// One GiB in KiB, the unit `df -Pk` and `du -sk` report.
const GIB_IN_KIB: u64 = 1024 * 1024;

/// The target directory cargo builds into (`CARGO_TARGET_DIR`, else `target/`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(
            || project_root().join("target"),
            |dir| {
                if dir.is_absolute() {
                    dir
                } else {
                    project_root().join(dir)
                }
            },
        )
}

/// KiB used under `dir` (0 when it does not exist yet).
pub(crate) fn used_kib(dir: &Path) -> Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let out = Cmd::new("du").arg("-sk").arg(dir).run_captured()?;
    first_number(&out).ok_or_else(|| format!("could not read `du -sk` output: {out:?}"))
}

/// KiB available on the filesystem holding `dir` (or its nearest existing
/// ancestor).
fn available_kib(dir: &Path) -> Result<u64> {
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new("."));
    let out = Cmd::new("df").arg("-Pk").arg(existing).run_captured()?;
    parse_df_available(&out).ok_or_else(|| format!("could not read `df -Pk` output: {out:?}"))
}

/// Fails, saying how much to free, unless the target directory can grow to
/// the size of a full run. A warm target directory needs correspondingly less.
pub(crate) fn check_room_for_full_run() -> Result {
    let dir = target_dir();
    let used = used_kib(&dir)?;
    let available = available_kib(&dir)?;
    let needed = (FULL_RUN_GIB * GIB_IN_KIB).saturating_sub(used);
    eprintln!(
        "target dir {}: {} in use, {} free on its filesystem, {} more needed for a full run",
        dir.display(),
        gib(used),
        gib(available),
        gib(needed),
    );
    if available < needed {
        return Err(format!(
            "not enough disk space: a full CI run needs about {FULL_RUN_GIB} GiB in {} \
             ({} more than it holds now) but only {} is free. Free some space, or point \
             CARGO_TARGET_DIR at a larger disk",
            dir.display(),
            gib(needed),
            gib(available),
        ));
    }
    Ok(())
}

/// `12.3 GiB`.
pub(crate) fn gib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "a display figure")]
    let value = kib as f64 / GIB_IN_KIB as f64;
    format!("{value:.1} GiB")
}

/// The first whitespace-separated number in `text` (`du -sk` prints
/// `SIZE<TAB>PATH`).
fn first_number(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// The "Available" column of `df -Pk` output (header line, then one line:
/// filesystem, 1024-blocks, used, available, capacity, mount point).
fn parse_df_available(text: &str) -> Option<u64> {
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_df_posix_output() {
        let out = "Filesystem     1024-blocks     Used Available Capacity Mounted on\n\
                   /dev/vda         264140560 12582912  83886080      13% /\n";
        assert_eq!(parse_df_available(out), Some(83_886_080));
        assert_eq!(parse_df_available("Filesystem\n"), None);
    }

    #[test]
    fn reads_du_output() {
        assert_eq!(first_number("6187520\t/x/target\n"), Some(6_187_520));
        assert_eq!(first_number("du: cannot access"), None);
    }

    #[test]
    fn formats_gib() {
        assert_eq!(gib(GIB_IN_KIB * 3 / 2), "1.5 GiB");
    }
}
