//! A PostgreSQL database for tests, handed to them as `DATABASE_URL`.
//!
//! In order of preference:
//! 1. `DATABASE_URL` from the environment, used as is;
//! 2. a server accepting TCP connections on 127.0.0.1:5432, assumed to have a
//!    `postgres` superuser with trust auth and a `test` database;
//! 3. a throwaway cluster: `initdb` into a private temporary directory,
//!    `pg_ctl start` on a free port, `createdb test`; stopped (`pg_ctl stop -m
//!    fast`) and deleted when the [`Database`] is dropped.
//!
//! `initdb` refuses to run as root, so as root the cluster's commands run as
//! the `postgres` user (or `nobody`) through `runuser`.

use std::env;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Result;
use crate::cmd::{Cmd, quote};

/// The environment variable the tests read their database URL from.
pub(crate) const ENV_VAR: &str = "DATABASE_URL";

/// Where a local server is looked for.
const LOCAL_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5432);

/// URL used for the server at [`LOCAL_ADDR`].
const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long to wait when probing [`LOCAL_ADDR`].
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Superuser of a throwaway cluster (trust auth, no password).
const SUPERUSER: &str = "postgres";

/// Database created in a throwaway cluster.
const DATABASE: &str = "test";

/// Where Debian and Ubuntu install the server binaries (one dir per version).
const DEBIAN_LIB_DIR: &str = "/usr/lib/postgresql";

/// Users a throwaway cluster may run as when xtask runs as root.
const UNPRIVILEGED_USERS: &[&str] = &["postgres", "nobody"];

/// What to do when no database can be found or started.
const INSTALL_HINT: &str = "no PostgreSQL for the tests: DATABASE_URL is not set, \
    nothing accepts connections on 127.0.0.1:5432, and initdb/pg_ctl were found \
    neither on PATH nor in /usr/lib/postgresql/*/bin. Install PostgreSQL \
    (Debian/Ubuntu: `apt-get install postgresql`) or set \
    DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB";

/// Where the tests' database will come from, decided without starting anything.
enum Plan {
    /// `DATABASE_URL` is set to this.
    FromEnv(String),
    /// Something accepts connections on [`LOCAL_ADDR`].
    LocalServer,
    /// A throwaway cluster can be made with these binaries.
    Throwaway(PgBins),
}

impl Plan {
    /// Decides where the database comes from (see the module docs).
    fn decide() -> Result<Self> {
        if let Some(url) = env::var(ENV_VAR).ok().filter(|url| !url.is_empty()) {
            return Ok(Self::FromEnv(url));
        }
        if TcpStream::connect_timeout(&LOCAL_ADDR, PROBE_TIMEOUT).is_ok() {
            return Ok(Self::LocalServer);
        }
        PgBins::find()
            .map(Self::Throwaway)
            .ok_or_else(|| INSTALL_HINT.to_owned())
    }
}

/// The database the tests use. Dropping it stops a throwaway cluster.
#[derive(Debug)]
pub(crate) enum Database {
    /// A server that xtask did not start, by URL.
    External(String),
    /// A cluster xtask started and will stop.
    Throwaway(Cluster),
}

impl Database {
    /// Finds a database, starting a throwaway cluster if need be.
    pub(crate) fn acquire() -> Result<Self> {
        match Plan::decide()? {
            Plan::FromEnv(url) => {
                eprintln!("using {ENV_VAR} from the environment: {}", redact(&url));
                Ok(Self::External(url))
            }
            Plan::LocalServer => {
                eprintln!("PostgreSQL accepts connections on {LOCAL_ADDR}; using {LOCAL_URL}");
                Ok(Self::External(LOCAL_URL.to_owned()))
            }
            Plan::Throwaway(bins) => {
                let cluster = Cluster::start(&bins)?;
                eprintln!("using the throwaway cluster: {}", cluster.url());
                Ok(Self::Throwaway(cluster))
            }
        }
    }

    /// The connection URL to give the tests.
    pub(crate) fn url(&self) -> &str {
        match self {
            Self::External(url) => url,
            Self::Throwaway(cluster) => cluster.url(),
        }
    }
}

/// `cargo xtask db-url [--throwaway]`.
///
/// Without arguments, prints (on stdout) the URL `ci` would use, or explains
/// that it would start a throwaway cluster. With `--throwaway`, starts one
/// regardless, prints its URL, checks it with `psql` and stops it.
pub(crate) fn db_url_command(args: &[String]) -> Result {
    match args {
        [] => {
            match Plan::decide()? {
                Plan::FromEnv(url) => {
                    eprintln!("source: {ENV_VAR} from the environment");
                    println!("{url}");
                }
                Plan::LocalServer => {
                    eprintln!("source: a server accepts connections on {LOCAL_ADDR}");
                    println!("{LOCAL_URL}");
                }
                Plan::Throwaway(bins) => eprintln!(
                    "source: none running; `cargo xtask ci` would start a throwaway \
                     cluster with {} (try `cargo xtask db-url --throwaway`)",
                    bins.initdb.display()
                ),
            }
            Ok(())
        }
        [flag] if flag == "--throwaway" => check_throwaway(),
        _ => Err("usage: cargo xtask db-url [--throwaway]".to_owned()),
    }
}

/// Starts a throwaway cluster, prints its URL, checks it with `psql`, stops it.
fn check_throwaway() -> Result {
    let bins = PgBins::find().ok_or_else(|| INSTALL_HINT.to_owned())?;
    let psql = bins
        .psql
        .clone()
        .ok_or("psql not found next to initdb, on PATH or in /usr/lib/postgresql/*/bin")?;
    let cluster = Cluster::start(&bins)?;
    println!("{}", cluster.url());
    let answer = Cmd::new(psql)
        .args(["-X", "-tA", "-c", "SELECT current_database()"])
        .arg(format!("--dbname={}", cluster.url()))
        .run_captured()?;
    if answer.trim() != DATABASE {
        return Err(format!(
            "psql answered `{}`, expected `{DATABASE}`",
            answer.trim()
        ));
    }
    eprintln!(
        "psql connected to database `{DATABASE}` on port {}",
        cluster.port
    );
    drop(cluster);
    Ok(())
}

/// `url` with its password, if any, replaced by `***`, for logs.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    match authority[..at].find(':') {
        Some(colon) => format!(
            "{}***{}",
            &url[..scheme_end + colon + 1],
            &url[scheme_end + at..]
        ),
        None => url.to_owned(),
    }
}

/// The PostgreSQL programs a throwaway cluster needs.
#[derive(Debug)]
struct PgBins {
    /// Creates the cluster.
    initdb: PathBuf,
    /// Starts and stops it.
    pg_ctl: PathBuf,
    /// Creates the `test` database, if installed.
    createdb: Option<PathBuf>,
    /// Fallback for `createdb`, and used to check the cluster.
    psql: Option<PathBuf>,
}

impl PgBins {
    /// Looks on PATH, then in `/usr/lib/postgresql/*/bin` (newest first); the
    /// other programs are preferred from the same installation as `initdb`.
    fn find() -> Option<Self> {
        let initdb = find_program("initdb")?;
        let install_dir = fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let companion = |name: &str| {
            install_dir
                .as_deref()
                .map(|dir| dir.join(program_file(name)))
                .filter(|p| is_executable(p))
                .or_else(|| find_program(name))
        };
        Some(Self {
            pg_ctl: companion("pg_ctl")?,
            createdb: companion("createdb"),
            psql: companion("psql"),
            initdb,
        })
    }
}

/// The user a throwaway cluster runs as when xtask runs as root.
#[derive(Debug)]
struct RunAs {
    /// User name, for `runuser -u`.
    user: String,
    /// User id, to own the cluster directory.
    uid: u32,
    /// Group id, to own the cluster directory.
    gid: u32,
    /// The `runuser` program.
    runuser: PathBuf,
}

impl RunAs {
    /// The first of [`UNPRIVILEGED_USERS`] that exists on this machine.
    fn find() -> Result<Self> {
        let runuser = find_program("runuser")
            .or_else(|| {
                ["/usr/sbin/runuser", "/sbin/runuser"]
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| is_executable(p))
            })
            .ok_or("running as root, and initdb refuses to: `runuser` (util-linux) is needed to run it as another user; or set DATABASE_URL")?;
        let id = |flag: &str, user: &str| -> Option<u32> {
            Cmd::new("id")
                .args([flag, user])
                .probe()?
                .trim()
                .parse()
                .ok()
        };
        UNPRIVILEGED_USERS
            .iter()
            .find_map(|user| {
                Some(Self {
                    user: (*user).to_owned(),
                    uid: id("-u", user)?,
                    gid: id("-g", user)?,
                    runuser: runuser.clone(),
                })
            })
            .ok_or_else(|| {
                format!(
                    "running as root, and initdb refuses to: none of the users {} exists to run it as; or set DATABASE_URL",
                    UNPRIVILEGED_USERS.join(", ")
                )
            })
    }
}

/// A throwaway PostgreSQL cluster in a private temporary directory.
///
/// Dropping it stops the server and deletes the directory.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Private directory holding `data/`, the server log and the socket.
    dir: PathBuf,
    /// TCP port on 127.0.0.1.
    port: u16,
    /// `pg_ctl`, to stop the server.
    pg_ctl: PathBuf,
    /// Who runs the server, when xtask runs as root.
    run_as: Option<RunAs>,
    /// URL of the `test` database.
    url: String,
}

impl Cluster {
    /// Creates, starts and fills (with the `test` database) a new cluster.
    fn start(bins: &PgBins) -> Result<Self> {
        let run_as = if running_as_root() {
            Some(RunAs::find()?)
        } else {
            None
        };
        let dir = make_private_dir(run_as.as_ref())?;
        let port = free_port()?;
        // From here on, `cluster` going out of scope (also through `?`)
        // stops whatever was started and removes the directory.
        let cluster = Self {
            url: format!("postgres://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"),
            dir,
            port,
            pg_ctl: bins.pg_ctl.clone(),
            run_as,
        };
        eprintln!(
            "starting a throwaway PostgreSQL cluster in {} on port {port}",
            cluster.dir.display()
        );

        cluster
            .as_owner(&bins.initdb)
            .arg("-D")
            .arg(cluster.data_dir())
            .args(["-U", SUPERUSER, "--auth=trust", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C"])
            .run_captured()?;

        // pg_ctl hands -o to the server through a shell, hence the quoting.
        let server_options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            quote(&cluster.dir.to_string_lossy())
        );
        cluster
            .as_owner(&cluster.pg_ctl)
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(cluster.data_dir())
            .arg("-l")
            .arg(cluster.log_file())
            .arg("-o")
            .arg(server_options)
            .run_captured()
            .map_err(|e| format!("{e}\nserver log:\n{}", cluster.log_tail()))?;

        cluster.create_database(bins)?;
        Ok(cluster)
    }

    /// URL of the cluster's `test` database.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's data directory.
    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file.
    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The last lines of the server log, to explain a failure.
    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `program`, run as the cluster's owner from the cluster directory.
    fn as_owner(&self, program: &Path) -> Cmd {
        let cmd = match &self.run_as {
            Some(run_as) => Cmd::new(&run_as.runuser)
                .args(["-u", &run_as.user, "--"])
                .arg(program),
            None => Cmd::new(program),
        };
        cmd.current_dir(&self.dir)
    }

    /// Creates the `test` database, with `createdb` or else `psql`.
    fn create_database(&self, bins: &PgBins) -> Result {
        let port = self.port.to_string();
        let connection = ["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER];
        let cmd = match (&bins.createdb, &bins.psql) {
            (Some(createdb), _) => Cmd::new(createdb).args(connection).arg(DATABASE),
            (None, Some(psql)) => Cmd::new(psql)
                .args(connection)
                .args(["-X", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("CREATE DATABASE {DATABASE}")),
            (None, None) => {
                return Err(
                    "neither createdb nor psql found to create the test database".to_owned(),
                );
            }
        };
        cmd.run_captured().map(drop)
    }

    /// Stops the server if it is running (`pg_ctl stop -m fast`).
    fn stop(&self) -> Result {
        if !self.data_dir().join("postmaster.pid").exists() {
            return Ok(());
        }
        self.as_owner(&self.pg_ctl)
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.data_dir())
            .run_captured()
            .map(drop)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        eprintln!(
            "stopping the throwaway PostgreSQL cluster on port {}",
            self.port
        );
        match self.stop() {
            Ok(()) => {
                if let Err(e) = fs::remove_dir_all(&self.dir) {
                    eprintln!("warning: could not remove {}: {e}", self.dir.display());
                }
            }
            Err(e) => eprintln!(
                "warning: could not stop the throwaway cluster, leaving {} in place: {e}",
                self.dir.display()
            ),
        }
    }
}

/// Whether this process runs as root (`id -u` prints 0).
fn running_as_root() -> bool {
    cfg!(unix)
        && Cmd::new("id")
            .arg("-u")
            .probe()
            .is_some_and(|uid| uid.trim() == "0")
}

/// Creates a new mode-0700 directory under the temp dir, owned by `owner`
/// (or by the current user).
fn make_private_dir(owner: Option<&RunAs>) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = env::temp_dir().join(format!("xtask-pg-{}-{nanos:08x}", process::id()));
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    if let Some(owner) = owner
        && let Err(e) = give_to(&dir, owner)
    {
        let _ = fs::remove_dir(&dir);
        return Err(e);
    }
    Ok(dir)
}

/// Makes `owner` the owner of `dir`.
#[cfg(unix)]
fn give_to(dir: &Path, owner: &RunAs) -> Result {
    std::os::unix::fs::chown(dir, Some(owner.uid), Some(owner.gid)).map_err(|e| {
        format!(
            "could not give {} to user {}: {e}",
            dir.display(),
            owner.user
        )
    })
}

/// Makes `owner` the owner of `dir` (only needed, and possible, on Unix).
#[cfg(not(unix))]
fn give_to(_dir: &Path, owner: &RunAs) -> Result {
    Err(format!(
        "cannot change file ownership to {} here",
        owner.user
    ))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("could not find a free TCP port: {e}"))
}

/// `name` with the platform's executable suffix.
fn program_file(name: &str) -> String {
    format!("{name}{}", env::consts::EXE_SUFFIX)
}

/// `name` on PATH, else in `/usr/lib/postgresql/<version>/bin`, newest first.
fn find_program(name: &str) -> Option<PathBuf> {
    let file = program_file(name);
    let path_dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(debian_bin_dirs())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

/// `/usr/lib/postgresql/<version>/bin` directories, highest version first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(DEBIAN_LIB_DIR) else {
        return Vec::new();
    };
    let mut versions: Vec<(Option<u32>, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| {
            let version = entry.file_name().to_str().and_then(|v| v.parse().ok());
            (version, entry.path().join("bin"))
        })
        .collect();
    versions.sort_by(|a, b| b.cmp(a));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// Whether `path` is a file this user may execute.
fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }
}
