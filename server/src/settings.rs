//! Layered settings: defaults, then an optional TOML file, then `SHEQU_*` environment
//! variables, then command-line flags. Each layer only overrides what it names.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One layer: every setting optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub plan: Option<PathBuf>,
    pub plans: Option<PathBuf>,
    pub current_plan: Option<String>,
    pub dist: Option<PathBuf>,
    pub seed_areas: Option<PathBuf>,
    pub demo: Option<bool>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub body_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub hash_workers: Option<usize>,
    pub trusted_proxy: Option<String>,
}

impl Layer {
    fn over(self, base: Layer) -> Layer {
        Layer {
            database_url: self.database_url.or(base.database_url),
            listen: self.listen.or(base.listen),
            plan: self.plan.or(base.plan),
            plans: self.plans.or(base.plans),
            current_plan: self.current_plan.or(base.current_plan),
            dist: self.dist.or(base.dist),
            seed_areas: self.seed_areas.or(base.seed_areas),
            demo: self.demo.or(base.demo),
            max_connections: self.max_connections.or(base.max_connections),
            header_timeout_secs: self.header_timeout_secs.or(base.header_timeout_secs),
            body_timeout_secs: self.body_timeout_secs.or(base.body_timeout_secs),
            idle_timeout_secs: self.idle_timeout_secs.or(base.idle_timeout_secs),
            hash_workers: self.hash_workers.or(base.hash_workers),
            trusted_proxy: self.trusted_proxy.or(base.trusted_proxy),
        }
    }

    /// The `SHEQU_*` environment variables; a number that does not parse is named.
    pub fn from_env() -> Result<Layer, SettingError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        fn number<T: std::str::FromStr>(
            setting: &'static str,
            v: Option<String>,
        ) -> Result<Option<T>, SettingError> {
            v.map(|v| {
                v.trim().parse().map_err(|_| SettingError {
                    setting,
                    message: format!("`{v}` is not a whole number"),
                })
            })
            .transpose()
        }
        Ok(Layer {
            database_url: var("SHEQU_DATABASE_URL"),
            listen: var("SHEQU_LISTEN"),
            plan: var("SHEQU_PLAN").map(PathBuf::from),
            plans: var("SHEQU_PLANS").map(PathBuf::from),
            current_plan: var("SHEQU_CURRENT_PLAN"),
            dist: var("SHEQU_DIST").map(PathBuf::from),
            seed_areas: var("SHEQU_SEED_AREAS").map(PathBuf::from),
            demo: var("SHEQU_DEMO").map(|v| v == "1" || v == "true"),
            max_connections: number("SHEQU_MAX_CONNECTIONS", var("SHEQU_MAX_CONNECTIONS"))?,
            header_timeout_secs: number(
                "SHEQU_HEADER_TIMEOUT_SECS",
                var("SHEQU_HEADER_TIMEOUT_SECS"),
            )?,
            body_timeout_secs: number("SHEQU_BODY_TIMEOUT_SECS", var("SHEQU_BODY_TIMEOUT_SECS"))?,
            idle_timeout_secs: number("SHEQU_IDLE_TIMEOUT_SECS", var("SHEQU_IDLE_TIMEOUT_SECS"))?,
            hash_workers: number("SHEQU_HASH_WORKERS", var("SHEQU_HASH_WORKERS"))?,
            trusted_proxy: var("SHEQU_TRUSTED_PROXY"),
        })
    }
}

/// What one client may hold of the server: connections, time, and password hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once. When they are all taken, the longest-idle one is closed to make
    /// room, so a flood of silent connections cannot shut out `/healthz` or a phone.
    pub max_connections: usize,
    /// Time to send a request's headers, from its first byte (slowloris).
    pub header_timeout: Duration,
    /// Longest pause while a request body arrives (a slow 2G upload keeps going; a stalled one
    /// does not hold its connection).
    pub body_timeout: Duration,
    /// How long a connection may sit with no request before it is closed.
    pub idle_timeout: Duration,
    /// Passwords hashed at once (argon2id takes 19 MiB and tens of milliseconds of a core each).
    pub hash_workers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            hash_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// 1,000 connections, or fewer when the process may open fewer files: three quarters of that
/// limit, leaving room for the database and the app's files.
fn default_max_connections() -> usize {
    let soft_limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max open files"))?;
            line["Max open files".len()..]
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        });
    match soft_limit {
        Some(n) => (n * 3 / 4).clamp(16, 1000),
        None => 1000,
    }
}

/// The settings in force.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub plan: PathBuf,
    /// A folder of plan files (every `*.toml` in it), added at start-up beside `plan`.
    pub plans: Option<PathBuf>,
    /// The id of the plan new records belong to; else the one `plan current` set, else the
    /// latest year.
    pub current_plan: Option<String>,
    pub dist: PathBuf,
    /// An areas file imported at start-up (idempotent), so a new database has its hierarchy.
    pub seed_areas: Option<PathBuf>,
    /// Demo mode: creates the demo accounts (see README) at start-up.
    pub demo: bool,
    pub limits: Limits,
    /// The reverse proxy's address: requests from it are taken to come from the address in its
    /// `X-Forwarded-For` header (for the login limits), all others from their own address.
    pub trusted_proxy: Option<std::net::IpAddr>,
}

/// A database URL may carry a password: never print it.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.database_url.split_once('@') {
            Some((scheme_user, host)) => {
                let scheme = scheme_user.split("://").next().unwrap_or("");
                format!("{scheme}://***@{host}")
            }
            None => self.database_url.clone(),
        };
        f.debug_struct("Settings")
            .field("database_url", &url)
            .field("listen", &self.listen)
            .field("plan", &self.plan)
            .field("plans", &self.plans)
            .field("current_plan", &self.current_plan)
            .field("dist", &self.dist)
            .field("seed_areas", &self.seed_areas)
            .field("demo", &self.demo)
            .field("limits", &self.limits)
            .field("trusted_proxy", &self.trusted_proxy)
            .finish()
    }
}

/// A setting that stops start-up: which one, and why, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct SettingError {
    pub setting: &'static str,
    pub message: String,
}

impl Settings {
    pub fn defaults() -> Layer {
        Layer {
            database_url: Some("sqlite://shequ.db".into()),
            listen: Some("127.0.0.1:8080".into()),
            plan: Some("seeds/plan-2018.toml".into()),
            dist: Some("dist".into()),
            seed_areas: None,
            demo: Some(false),
            ..Layer::default()
        }
    }

    /// Resolves the layers: defaults < file < environment < flags.
    pub fn resolve(
        file: Option<&std::path::Path>,
        env: Layer,
        flags: Layer,
    ) -> Result<Settings, SettingError> {
        let file_layer = match file {
            None => Layer::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SettingError {
                    setting: "--config / SHEQU_CONFIG",
                    message: format!("cannot read {}: {e}", path.display()),
                })?;
                toml::from_str(&text).map_err(|e| SettingError {
                    setting: "--config / SHEQU_CONFIG",
                    message: format!("{}: {}", path.display(), e.message()),
                })?
            }
        };
        let l = flags.over(env.over(file_layer.over(Self::defaults())));
        let mut s = Settings {
            database_url: l.database_url.unwrap_or_default(),
            listen: l.listen.unwrap_or_default(),
            plan: l.plan.unwrap_or_default(),
            plans: l.plans,
            current_plan: l.current_plan,
            dist: l.dist.unwrap_or_default(),
            seed_areas: l.seed_areas,
            demo: l.demo.unwrap_or(false),
            limits: {
                let d = Limits::default();
                let secs =
                    |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
                Limits {
                    max_connections: l.max_connections.unwrap_or(d.max_connections),
                    header_timeout: secs(l.header_timeout_secs, d.header_timeout),
                    body_timeout: secs(l.body_timeout_secs, d.body_timeout),
                    idle_timeout: secs(l.idle_timeout_secs, d.idle_timeout),
                    hash_workers: l.hash_workers.unwrap_or(d.hash_workers),
                }
            },
            trusted_proxy: None,
        };
        if let Some(p) = &l.trusted_proxy {
            s.trusted_proxy = Some(p.parse().map_err(|_| SettingError {
                setting: "trusted_proxy / SHEQU_TRUSTED_PROXY",
                message: format!("`{p}` is not an IP address such as 127.0.0.1"),
            })?);
        }
        let zero = [
            (
                "max_connections / SHEQU_MAX_CONNECTIONS",
                s.limits.max_connections == 0,
            ),
            (
                "header_timeout_secs / SHEQU_HEADER_TIMEOUT_SECS",
                s.limits.header_timeout.is_zero(),
            ),
            (
                "body_timeout_secs / SHEQU_BODY_TIMEOUT_SECS",
                s.limits.body_timeout.is_zero(),
            ),
            (
                "idle_timeout_secs / SHEQU_IDLE_TIMEOUT_SECS",
                s.limits.idle_timeout.is_zero(),
            ),
            (
                "hash_workers / SHEQU_HASH_WORKERS",
                s.limits.hash_workers == 0,
            ),
        ];
        for (setting, zero) in zero {
            if zero {
                return Err(SettingError {
                    setting,
                    message: "must be at least 1".into(),
                });
            }
        }
        if !(s.database_url.starts_with("sqlite://")
            || s.database_url.starts_with("postgres://")
            || s.database_url.starts_with("postgresql://"))
        {
            return Err(SettingError {
                setting: "--database / SHEQU_DATABASE_URL",
                message: format!(
                    "`{}` is not a database URL (use sqlite://PATH or postgres://USER@HOST/DATABASE)",
                    s.database_url
                ),
            });
        }
        if s.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(SettingError {
                setting: "--listen / SHEQU_LISTEN",
                message: format!("`{}` is not an address such as 127.0.0.1:8080", s.listen),
            });
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shequ.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://file.db\"\n",
        )
        .unwrap();
        let env = Layer {
            database_url: Some("sqlite://env.db".into()),
            ..Default::default()
        };
        let s = Settings::resolve(Some(&file), env.clone(), Layer::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000");
        assert_eq!(s.database_url, "sqlite://env.db");
        let flags = Layer {
            database_url: Some("sqlite://flag.db".into()),
            ..Default::default()
        };
        let s = Settings::resolve(Some(&file), env, flags).unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.plan, PathBuf::from("seeds/plan-2018.toml"));
    }

    #[test]
    fn a_bad_setting_is_named() {
        let flags = Layer {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        };
        let e = Settings::resolve(None, Layer::default(), flags).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--database / SHEQU_DATABASE_URL:"),
            "{e}"
        );
        let flags = Layer {
            listen: Some("nowhere".into()),
            ..Default::default()
        };
        let e = Settings::resolve(None, Layer::default(), flags).unwrap_err();
        assert!(e.to_string().starts_with("--listen / SHEQU_LISTEN:"), "{e}");
    }

    #[test]
    fn debug_hides_the_password() {
        let flags = Layer {
            database_url: Some("postgres://shequ:secret@db/shequ".into()),
            ..Default::default()
        };
        let s = Settings::resolve(None, Layer::default(), flags).unwrap();
        assert!(!format!("{s:?}").contains("secret"));
    }
}
