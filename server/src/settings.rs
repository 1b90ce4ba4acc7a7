//! The server's settings, each declared once, as a field of [`Settings`] or [`Limits`]: the
//! field's name is its key in the settings file and, upper-cased after `SHEQU_`, its environment
//! variable; the settings people change by hand also have a flag in [`Flags`]. Layers override
//! each other in this order: defaults < the file (`--config` / `SHEQU_CONFIG`) < `SHEQU_*` <
//! flags, merged by figment.

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use shequ_model::plan::PlanId;

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    /// Port 0 picks a free port (tests).
    #[serde(deserialize_with = "address")]
    pub listen: SocketAddr,
    /// A plan file, kept in the database at start-up.
    pub plan: PathBuf,
    /// A folder of plan files (every `*.toml` in it), kept in the database at start-up beside
    /// `plan`.
    pub plans: Option<PathBuf>,
    /// The plan new records belong to; else the one `shequ-server plan current` set, else the
    /// latest year.
    pub current_plan: Option<PlanId>,
    /// The built app's folder.
    pub dist: PathBuf,
    /// An areas file imported at start-up (idempotent), so a new database has its hierarchy.
    pub seed_areas: Option<PathBuf>,
    /// Demo mode: creates the demo accounts (see README) at start-up.
    #[serde(deserialize_with = "switch")]
    pub demo: bool,
    /// In demo mode: the values file a year of records is made from (see [`crate::demo`]), when
    /// the current plan's county holds none yet.
    pub demo_records: Option<PathBuf>,
    /// The reverse proxy's address: requests from it are taken to come from the address in its
    /// `X-Forwarded-For` header (for the login limits), all others from their own address.
    #[serde(deserialize_with = "proxy")]
    pub trusted_proxy: Option<IpAddr>,
    /// Where photos are kept: a folder, or `s3://BUCKET/PREFIX` in a build with the `s3`
    /// feature (credentials and region from the `AWS_*` variables). Without it, the folder
    /// `PATH.photos` beside a SQLite database `PATH`, or `photos` for PostgreSQL.
    pub photos: Option<String>,
    /// Read from the same layers, with keys of their own (see [`Limits`]).
    #[serde(skip)]
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DatabaseUrl("sqlite://shequ.db".into()),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            plan: "seeds/plan-2018.toml".into(),
            plans: None,
            current_plan: None,
            dist: "dist".into(),
            seed_areas: None,
            demo: false,
            demo_records: None,
            trusted_proxy: None,
            photos: None,
            limits: Limits::default(),
        }
    }
}

/// What one client may hold of the server: connections, time, password hashing and heavy
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Connections open at once. When they are all taken, the longest-idle one is closed to make
    /// room, so a flood of silent connections cannot shut out `/healthz` or a phone.
    #[serde(deserialize_with = "at_least_one")]
    pub max_connections: usize,
    /// Time to send a request's headers, from its first byte (slowloris).
    #[serde(rename = "header_timeout_secs", with = "seconds")]
    pub header_timeout: Duration,
    /// Longest pause while a request body arrives (a slow 2G upload keeps going; a stalled one
    /// does not hold its connection).
    #[serde(rename = "body_timeout_secs", with = "seconds")]
    pub body_timeout: Duration,
    /// How long a connection may sit with no request before it is closed.
    #[serde(rename = "idle_timeout_secs", with = "seconds")]
    pub idle_timeout: Duration,
    /// Passwords hashed at once (argon2id takes 19 MiB and tens of milliseconds of a core each).
    #[serde(deserialize_with = "at_least_one")]
    pub hash_workers: usize,
    /// Heavy requests served at once: the decomposition table's export and import (an import
    /// unpacks up to 32 MiB) and reports of a scope wider than a county (which read every
    /// village's figures in it). One more is refused at once (503 with Retry-After).
    #[serde(deserialize_with = "at_least_one")]
    pub heavy_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            hash_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            // One per core of the two-core machine a county's server is sized for; not more on a
            // larger one, as each may take a hundred megabytes.
            heavy_requests: 2,
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

/// The command line's layer: each flag is named after the setting it sets, and one left out
/// leaves the setting to the layers below.
#[derive(Debug, Default, Clone, clap::Args, Serialize)]
pub struct Flags {
    /// A TOML settings file (its keys are the settings' names in the README's settings table).
    #[arg(long, env = "SHEQU_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
    #[arg(long = "database", global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// A plan file, kept in the database at start-up.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PathBuf>,
    /// A folder of plan files (every `*.toml` in it), kept in the database at start-up.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plans: Option<PathBuf>,
    /// The plan new records belong to (its id, e.g. fufeng-2019).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_plan: Option<String>,
    /// The built app's folder.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dist: Option<PathBuf>,
    /// An areas file imported at start-up (idempotent).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_areas: Option<PathBuf>,
    /// Demo mode: create the demo accounts (password shequ2018) at start-up.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// In demo mode, fill an empty county with a year of records made from this values file.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo_records: Option<PathBuf>,
    /// Where photos are kept: a folder, or s3://BUCKET/PREFIX (a build with the s3 feature).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<String>,
}

/// A setting that stops start-up: which one, and why, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct SettingError {
    /// The setting's flag (or file key) and environment variable, e.g. `--listen / SHEQU_LISTEN`.
    pub setting: &'static str,
    pub message: String,
}

impl SettingError {
    /// An error about the setting whose key is `key`.
    pub fn new(key: &str, message: impl fmt::Display) -> SettingError {
        SettingError {
            setting: label(key),
            message: message.to_string(),
        }
    }
}

impl Settings {
    /// Resolves the layers: the defaults, the file `flags.config`, the `SHEQU_*` environment
    /// variables and the flags.
    pub fn resolve(flags: &Flags) -> Result<Settings, SettingError> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Settings::resolve_with(flags, env)
    }

    /// [`Settings::resolve`] with the environment given; an empty variable counts as unset.
    pub fn resolve_with(
        flags: &Flags,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Serialized::defaults(Limits::default()));
        if let Some(path) = &flags.config {
            // Read here first for a one-line error; figment then reads it knowing its path.
            let text = std::fs::read_to_string(path).map_err(|e| {
                SettingError::new("config", format!("cannot read {}: {e}", path.display()))
            })?;
            if let Err(e) = toml::from_str::<toml::Table>(&text) {
                let line = e
                    .span()
                    .map_or(1, |s| text[..s.start].matches('\n').count() + 1);
                return Err(SettingError::new(
                    "config",
                    format!(
                        "{} line {line}: {}",
                        path.display(),
                        e.message().replace('\n', "; ")
                    ),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env: Dict = env
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .filter_map(|(k, v)| {
                let key = keys().iter().find(|key| env_var(key) == k)?;
                Some((key.clone(), Value::from(v)))
            })
            .collect();
        let flags = Value::serialize(flags)
            .ok()
            .and_then(Value::into_dict)
            .expect("the flags are a table");
        let figment = figment
            .merge(Layer {
                name: "environment",
                values: env,
                name_of: env_var,
            })
            .merge(Layer {
                name: "command line",
                values: flags,
                name_of: |key| flag(key).unwrap_or_else(|| key.to_string()),
            });
        if let Some((key, source)) = unknown_key(&figment) {
            return Err(SettingError::new(
                "config",
                format!(
                    "`{key}` in {source} is not a setting (the settings are {})",
                    keys().join(", ")
                ),
            ));
        }
        let mut settings: Settings = figment.extract().map_err(|e| explain(&figment, e))?;
        settings.limits = figment.extract().map_err(|e| explain(&figment, e))?;
        Ok(settings)
    }
}

/// The environment or the command line as a layer, each value named as it was given.
struct Layer {
    name: &'static str,
    values: Dict,
    name_of: fn(&str) -> String,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let name_of = self.name_of;
        Metadata::named(self.name)
            .interpolater(move |_: &Profile, k: &[&str]| name_of(&k.join(".")))
    }

    fn data(&self) -> Result<figment::value::Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

/// Every setting's key, from the declarations above.
fn keys() -> &'static [String] {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = Vec::new();
        for layer in [
            Value::serialize(Settings::default()),
            Value::serialize(Limits::default()),
        ] {
            let dict = layer
                .ok()
                .and_then(Value::into_dict)
                .expect("the defaults are a table");
            keys.extend(dict.into_keys());
        }
        keys
    })
}

fn env_var(key: &str) -> String {
    format!("SHEQU_{}", key.to_ascii_uppercase())
}

fn flag(key: &str) -> Option<String> {
    let command = <Flags as clap::Args>::augment_args(clap::Command::new("shequ-server"));
    let long = command
        .get_arguments()
        .find(|a| a.get_id() == key)?
        .get_long()?;
    Some(format!("--{long}"))
}

/// How a setting is named to whoever set it: its flag, or else its file key, and its environment
/// variable.
fn label(key: &str) -> &'static str {
    static LABELS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        keys()
            .iter()
            .chain([&"config".to_string()])
            .map(|key| {
                let flag = flag(key).unwrap_or_else(|| key.clone());
                (key.clone(), format!("{flag} / {}", env_var(key)))
            })
            .collect()
    });
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map_or("settings", |(_, label)| label.as_str())
}

/// A key some layer gives that names no setting, and where it was given (only the file can:
/// the other layers are made from the settings' own keys).
fn unknown_key(figment: &Figment) -> Option<(String, String)> {
    let data = figment.data().ok()?;
    data.values()
        .flat_map(|dict| dict.keys())
        .find(|k| !keys().contains(k))
        .map(|k| {
            let source = figment
                .find_metadata(k)
                .and_then(|m| m.source.as_ref())
                .map_or("the settings file".to_string(), |s| s.to_string());
            (k.clone(), source)
        })
}

/// One line for a value that does not fit its setting: the setting, the value, what it should
/// be, and where it was given.
fn explain(figment: &Figment, e: figment::Error) -> SettingError {
    let key = match e.path.join(".") {
        k if k.is_empty() => "config".to_string(),
        k => k,
    };
    let given = match e.metadata.as_ref() {
        Some(m) => match &m.source {
            Some(source) => format!(" (in {source})"),
            None => format!(" (given as {})", m.interpolate(&Profile::Default, &e.path)),
        },
        None => String::new(),
    };
    let message = match &e.kind {
        figment::error::Kind::Message(m) => m.clone(),
        kind => match figment.find_value(&key) {
            Ok(Value::String(_, v)) => format!("`{v}`: {kind}"),
            _ => kind.to_string(),
        },
    };
    SettingError::new(&key, format!("{message}{given}"))
}

/// A database URL, `sqlite://PATH` or `postgres://…`. It may carry a password: never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        const SCHEMES: [&str; 3] = ["sqlite", "postgres", "postgresql"];
        match url::Url::parse(url) {
            Ok(u) if SCHEMES.contains(&u.scheme()) => Ok(DatabaseUrl(url.to_string())),
            _ => Err(format!(
                "`{url}` is not a database URL (use sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE)"
            )),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for DatabaseUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;
    fn try_from(url: String) -> Result<Self, String> {
        DatabaseUrl::parse(&url)
    }
}

impl From<DatabaseUrl> for String {
    fn from(url: DatabaseUrl) -> String {
        url.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                write!(f, "{:?}", u.as_str())
            }
            _ => write!(f, "{:?}", self.0),
        }
    }
}

/// A value read as text (every layer can give text) and parsed, or refused with `expected`.
fn parsed<'de, D: Deserializer<'de>, T: std::str::FromStr>(
    d: D,
    expected: &str,
) -> Result<T, D::Error> {
    let text = Text::deserialize(d)?.0;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not {expected}")))
}

fn address<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    parsed(d, "an address such as 127.0.0.1:8080")
}

fn proxy<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    Option::<Text>::deserialize(d)?
        .map(|t| {
            t.0.trim().parse().map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{}` is not an IP address such as 127.0.0.1",
                    t.0
                ))
            })
        })
        .transpose()
}

fn switch<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let text = Text::deserialize(d)?.0;
    match text.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(serde::de::Error::custom(format!(
            "`{text}` is not true or false (or 1 or 0)"
        ))),
    }
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    match parsed(d, "a whole number")? {
        0 => Err(serde::de::Error::custom("`0`: must be at least 1")),
        n => Ok(n),
    }
}

/// A duration in whole seconds, at least one.
mod seconds {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        at_least_one(d).map(|n| Duration::from_secs(n as u64))
    }
}

/// Any scalar, as text: the environment gives `8` where the file gives `"8"`.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or text")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, Flags) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shequ.toml");
        std::fs::write(&path, text).unwrap();
        let flags = Flags {
            config: Some(path),
            ..Flags::default()
        };
        (dir, flags)
    }

    #[test]
    fn the_file_is_overridden_by_the_environment_and_that_by_a_flag() {
        let (_dir, mut flags) = file(
            "listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://file.db\"\n\
             max_connections = 7\nidle_timeout_secs = 5\ndemo = true\n",
        );
        let vars = env(&[
            ("SHEQU_DATABASE_URL", "sqlite://env.db"),
            ("SHEQU_MAX_CONNECTIONS", "9"),
            ("SHEQU_DIST", ""),
            ("SHEQU_LOG", "debug"),
        ]);
        let s = Settings::resolve_with(&flags, vars.clone()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.database_url.as_str(), "sqlite://env.db");
        assert_eq!(s.limits.max_connections, 9);
        assert_eq!(s.limits.idle_timeout, Duration::from_secs(5));
        assert!(s.demo);
        assert_eq!(
            s.dist,
            Settings::default().dist,
            "an empty variable is unset"
        );
        assert_eq!(s.plan, Settings::default().plan);
        flags.database_url = Some("sqlite://flag.db".into());
        let s = Settings::resolve_with(&flags, vars).unwrap();
        assert_eq!(s.database_url.as_str(), "sqlite://flag.db");
    }

    fn refused(flags: &Flags, vars: &[(&str, &str)]) -> String {
        Settings::resolve_with(flags, env(vars))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_bad_value_is_named_with_its_setting_and_where_it_was_given() {
        let flags = Flags {
            database_url: Some("mysql://x".into()),
            ..Flags::default()
        };
        let e = refused(&flags, &[]);
        assert!(
            e.starts_with("--database / SHEQU_DATABASE_URL: `mysql://x` is not a database URL"),
            "{e}"
        );
        assert!(e.ends_with("(given as --database)"), "{e}");
        let e = refused(&Flags::default(), &[("SHEQU_LISTEN", "nowhere")]);
        assert!(
            e.starts_with("--listen / SHEQU_LISTEN: `nowhere` is not an address"),
            "{e}"
        );
        assert!(e.ends_with("(given as SHEQU_LISTEN)"), "{e}");
        let e = refused(&Flags::default(), &[("SHEQU_HASH_WORKERS", "many")]);
        assert!(
            e.starts_with("hash_workers / SHEQU_HASH_WORKERS: `many` is not a whole number"),
            "{e}"
        );
        let e = refused(&Flags::default(), &[("SHEQU_HEAVY_REQUESTS", "0")]);
        assert!(
            e.starts_with("heavy_requests / SHEQU_HEAVY_REQUESTS: `0`: must be at least 1"),
            "{e}"
        );
        let e = refused(&Flags::default(), &[("SHEQU_TRUSTED_PROXY", "proxy.lan")]);
        assert!(
            e.starts_with("trusted_proxy / SHEQU_TRUSTED_PROXY: `proxy.lan` is not an IP address"),
            "{e}"
        );
        let e = refused(&Flags::default(), &[("SHEQU_DEMO", "maybe")]);
        assert!(
            e.starts_with("--demo / SHEQU_DEMO: `maybe` is not true or false"),
            "{e}"
        );
        let (_dir, flags) = file("body_timeout_secs = 0\n");
        let e = refused(&flags, &[]);
        assert!(
            e.starts_with("body_timeout_secs / SHEQU_BODY_TIMEOUT_SECS: `0`: must be at least 1"),
            "{e}"
        );
        assert!(e.contains("shequ.toml"), "{e}");
    }

    #[test]
    fn a_file_that_cannot_be_used_is_named() {
        let (_dir, flags) = file("listen = \"127.0.0.1:9000\"\nlisten_on = 1\n");
        let e = refused(&flags, &[]);
        assert!(
            e.starts_with("--config / SHEQU_CONFIG: `listen_on` in "),
            "{e}"
        );
        assert!(e.contains("shequ.toml is not a setting"), "{e}");
        let (_dir, flags) = file("demo = true\nlisten = \n");
        let e = refused(&flags, &[]);
        assert!(e.starts_with("--config / SHEQU_CONFIG: "), "{e}");
        assert!(e.contains("shequ.toml line 2: "), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let flags = Flags {
            config: Some("/nonexistent/shequ.toml".into()),
            ..Flags::default()
        };
        let e = refused(&flags, &[]);
        assert!(
            e.starts_with("--config / SHEQU_CONFIG: cannot read /nonexistent/shequ.toml"),
            "{e}"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let flags = Flags {
            database_url: Some("postgres://shequ:secret@db/shequ".into()),
            ..Flags::default()
        };
        let s = Settings::resolve_with(&flags, env(&[])).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("postgres://shequ:***@db/shequ"), "{shown}");
    }
}
