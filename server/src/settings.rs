//! Layered settings: defaults, then an optional TOML file, then `SHEQU_*` environment
//! variables, then command-line flags. Each layer only overrides what it names.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// One layer: every setting optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub plan: Option<PathBuf>,
    pub dist: Option<PathBuf>,
    pub seed_areas: Option<PathBuf>,
    pub demo: Option<bool>,
}

impl Layer {
    fn over(self, base: Layer) -> Layer {
        Layer {
            database_url: self.database_url.or(base.database_url),
            listen: self.listen.or(base.listen),
            plan: self.plan.or(base.plan),
            dist: self.dist.or(base.dist),
            seed_areas: self.seed_areas.or(base.seed_areas),
            demo: self.demo.or(base.demo),
        }
    }

    pub fn from_env() -> Layer {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Layer {
            database_url: var("SHEQU_DATABASE_URL"),
            listen: var("SHEQU_LISTEN"),
            plan: var("SHEQU_PLAN").map(PathBuf::from),
            dist: var("SHEQU_DIST").map(PathBuf::from),
            seed_areas: var("SHEQU_SEED_AREAS").map(PathBuf::from),
            demo: var("SHEQU_DEMO").map(|v| v == "1" || v == "true"),
        }
    }
}

/// The settings in force.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    pub plan: PathBuf,
    pub dist: PathBuf,
    /// An areas file imported at start-up (idempotent), so a new database has its hierarchy.
    pub seed_areas: Option<PathBuf>,
    /// Demo mode: creates the demo accounts (see README) at start-up.
    pub demo: bool,
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
            .field("dist", &self.dist)
            .field("seed_areas", &self.seed_areas)
            .field("demo", &self.demo)
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
        }
    }

    /// Resolves the layers: defaults < file < environment < flags.
    pub fn resolve(file: Option<&std::path::Path>, env: Layer, flags: Layer) -> Result<Settings, SettingError> {
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
        let s = Settings {
            database_url: l.database_url.unwrap_or_default(),
            listen: l.listen.unwrap_or_default(),
            plan: l.plan.unwrap_or_default(),
            dist: l.dist.unwrap_or_default(),
            seed_areas: l.seed_areas,
            demo: l.demo.unwrap_or(false),
        };
        if !(s.database_url.starts_with("sqlite://")
            || s.database_url.starts_with("postgres://")
            || s.database_url.starts_with("postgresql://"))
        {
            return Err(SettingError {
                setting: "--database / SHEQU_DATABASE_URL",
                message: format!("`{}` is not a database URL (use sqlite://PATH)", s.database_url),
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
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://file.db\"\n").unwrap();
        let env = Layer { database_url: Some("sqlite://env.db".into()), ..Default::default() };
        let s = Settings::resolve(Some(&file), env.clone(), Layer::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000");
        assert_eq!(s.database_url, "sqlite://env.db");
        let flags = Layer { database_url: Some("sqlite://flag.db".into()), ..Default::default() };
        let s = Settings::resolve(Some(&file), env, flags).unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
        assert_eq!(s.plan, PathBuf::from("seeds/plan-2018.toml"));
    }

    #[test]
    fn a_bad_setting_is_named() {
        let flags = Layer { database_url: Some("mysql://x".into()), ..Default::default() };
        let e = Settings::resolve(None, Layer::default(), flags).unwrap_err();
        assert!(e.to_string().starts_with("--database / SHEQU_DATABASE_URL:"), "{e}");
        let flags = Layer { listen: Some("nowhere".into()), ..Default::default() };
        let e = Settings::resolve(None, Layer::default(), flags).unwrap_err();
        assert!(e.to_string().starts_with("--listen / SHEQU_LISTEN:"), "{e}");
    }

    #[test]
    fn debug_hides_the_password() {
        let flags = Layer { database_url: Some("postgres://shequ:secret@db/shequ".into()), ..Default::default() };
        let s = Settings::resolve(None, Layer::default(), flags).unwrap();
        assert!(!format!("{s:?}").contains("secret"));
    }
}
