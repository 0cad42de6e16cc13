//! Loading a service's configuration: one TOML file (unknown keys rejected by the
//! service's `deny_unknown_fields` structs) plus environment overrides, with one error type
//! that names the file, variable or field at fault.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use thiserror::Error;

/// A configuration that cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this config (unknown keys included).
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// An environment override has a bad value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("{field}: {message}")]
    Invalid {
        /// Dotted field path, e.g. `batch.max_messages`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// The config in `path`, or the default when there is no file.
pub fn read_toml<T: DeserializeOwned + Default>(path: Option<&Path>) -> Result<T, ConfigError> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

/// Environment overrides, read from a map so tests control them.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a>(pub &'a HashMap<String, String>);

impl Env<'_> {
    /// The value of `var`, if set and not empty.
    pub fn get(&self, var: &str) -> Option<String> {
        self.0.get(var).filter(|v| !v.is_empty()).cloned()
    }

    /// Sets `target` to `var`'s value when set.
    pub fn string(&self, var: &str, target: &mut String) {
        if let Some(v) = self.get(var) {
            *target = v;
        }
    }

    /// Sets `target` to `var`'s value parsed, when set; a bad value names the variable.
    pub fn parse<T>(&self, var: &'static str, target: &mut T) -> Result<(), ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        if let Some(v) = self.get(var) {
            *target = v.parse().map_err(|e: T::Err| ConfigError::Env {
                var,
                message: format!("{e}: {v:?}"),
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_and_names_bad_values() {
        let map: HashMap<String, String> = [("A", "x"), ("N", "12"), ("BAD", "nope"), ("E", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let env = Env(&map);
        let mut s = String::from("default");
        env.string("A", &mut s);
        assert_eq!(s, "x");
        env.string("E", &mut s);
        assert_eq!(s, "x", "empty values do not override");
        let mut n = 0u32;
        env.parse("N", &mut n).unwrap();
        assert_eq!(n, 12);
        let err = env.parse("BAD", &mut n).unwrap_err();
        assert!(matches!(err, ConfigError::Env { var: "BAD", .. }), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err =
            read_toml::<HashMap<String, String>>(Some(Path::new("/nonexistent.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent.toml"));
    }
}
