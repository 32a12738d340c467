//! Parsing a vault location string into an object store.
//!
//! Accepted forms:
//! - a directory path (`/srv/vault`, `./vault`) or `file:///srv/vault`: local disk;
//! - `memory://`: an in-memory store (tests, benchmarks);
//! - `s3://bucket/prefix`: S3 or an S3-compatible server;
//! - `az://container/prefix` (or `azure://`): Azure Blob storage;
//! - `gs://bucket/prefix`: Google Cloud Storage.
//!
//! Credentials, region and endpoint come from the environment exactly as
//! `object_store`'s builders read them (`AWS_*`, `AZURE_*`, `GOOGLE_*`). Query parameters
//! set further builder options by their `object_store` config names, e.g.
//! `s3://b/p?endpoint=http://127.0.0.1:9000&allow_http=true` or
//! `az://c/p?use_emulator=true`. The query string is never echoed in messages.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;

use crate::error::{Result, VaultError};

/// A parsed location: which service, which bucket/container and which prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(std::path::PathBuf),
    /// A fresh in-memory store.
    Memory,
    /// S3 or compatible: bucket, prefix, extra builder options.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix inside the bucket (no leading or trailing `/`).
        prefix: String,
        /// Builder options from the query string.
        options: Vec<(String, String)>,
    },
    /// Azure Blob: container, prefix, extra builder options.
    Azure {
        /// Container name.
        container: String,
        /// Blob name prefix.
        prefix: String,
        /// Builder options from the query string.
        options: Vec<(String, String)>,
    },
    /// Google Cloud Storage: bucket, prefix, extra builder options.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Object name prefix.
        prefix: String,
        /// Builder options from the query string.
        options: Vec<(String, String)>,
    },
}

impl Location {
    /// Parses a location string (see the module documentation).
    ///
    /// # Errors
    /// [`VaultError::Location`] for an unknown scheme, a missing bucket or a malformed
    /// query string.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = |reason: &str| VaultError::Location {
            location: redact(text),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(bad("empty location"));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Self::Local(text.into()));
        };
        match scheme {
            "file" => {
                if rest.is_empty() {
                    return Err(bad("file:// needs a path"));
                }
                Ok(Self::Local(rest.into()))
            }
            "memory" => Ok(Self::Memory),
            "s3" | "az" | "azure" | "gs" => {
                let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
                let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
                if bucket.is_empty() {
                    return Err(bad("the bucket or container name is missing"));
                }
                let prefix = prefix.trim_matches('/').to_owned();
                let mut options = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| bad("query parameters must be key=value"))?;
                    options.push((k.to_owned(), v.to_owned()));
                }
                let bucket = bucket.to_owned();
                Ok(match scheme {
                    "s3" => Self::S3 {
                        bucket,
                        prefix,
                        options,
                    },
                    "gs" => Self::Gcs {
                        bucket,
                        prefix,
                        options,
                    },
                    _ => Self::Azure {
                        container: bucket,
                        prefix,
                        options,
                    },
                })
            }
            other => Err(bad(&format!(
                "unknown scheme {other:?} (use a directory, file://, s3://, az://, gs:// or memory://)"
            ))),
        }
    }

    /// Builds the store, rooted at the location's prefix.
    ///
    /// # Errors
    /// [`VaultError::Location`] when the builder rejects the configuration (unknown option,
    /// missing credentials) or the local directory cannot be created.
    pub fn build(&self, original: &str) -> Result<Arc<dyn ObjectStore>> {
        let bad = |reason: String| VaultError::Location {
            location: redact(original),
            reason,
        };
        if matches!(
            self,
            Self::S3 { .. } | Self::Azure { .. } | Self::Gcs { .. }
        ) {
            use_ring_for_tls();
        }
        Ok(match self {
            Self::Memory => Arc::new(InMemory::new()),
            Self::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| bad(format!("creating {dir:?}: {e}")))?;
                let store = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| bad(e.to_string()))?
                    // Leftover temporary files of interrupted writes are not our objects.
                    .with_automatic_cleanup(true);
                Arc::new(store)
            }
            Self::S3 {
                bucket,
                prefix,
                options,
            } => {
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (k, v) in options {
                    let key: AmazonS3ConfigKey = k
                        .parse()
                        .map_err(|_| bad(format!("unknown S3 option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                let store = b.build().map_err(|e| bad(e.to_string()))?;
                with_prefix(store, prefix)
            }
            Self::Azure {
                container,
                prefix,
                options,
            } => {
                let mut b = MicrosoftAzureBuilder::from_env().with_container_name(container);
                for (k, v) in options {
                    let key: AzureConfigKey = k
                        .parse()
                        .map_err(|_| bad(format!("unknown Azure option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                let store = b.build().map_err(|e| bad(e.to_string()))?;
                with_prefix(store, prefix)
            }
            Self::Gcs {
                bucket,
                prefix,
                options,
            } => {
                let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
                for (k, v) in options {
                    let key: GoogleConfigKey = k
                        .parse()
                        .map_err(|_| bad(format!("unknown GCS option {k:?}")))?;
                    b = b.with_config(key, v);
                }
                let store = b.build().map_err(|e| bad(e.to_string()))?;
                with_prefix(store, prefix)
            }
        })
    }
}

fn with_prefix<T: ObjectStore>(store: T, prefix: &str) -> Arc<dyn ObjectStore> {
    if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    }
}

/// The location without its query string (which may hold secrets).
#[must_use]
pub fn redact(location: &str) -> String {
    match location.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => location.to_owned(),
    }
}

/// Cloud stores speak HTTPS through rustls, which needs a process-wide crypto provider;
/// Cairn uses ring everywhere (no aws-lc-rs C build). Installing it twice is harmless.
fn use_ring_for_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            Location::parse("/srv/vault").unwrap(),
            Location::Local("/srv/vault".into())
        );
        assert_eq!(
            Location::parse("file:///srv/v").unwrap(),
            Location::Local("/srv/v".into())
        );
        assert_eq!(Location::parse("memory://").unwrap(), Location::Memory);
        assert_eq!(
            Location::parse("s3://bkt/a/b/?endpoint=http://h:1&allow_http=true").unwrap(),
            Location::S3 {
                bucket: "bkt".into(),
                prefix: "a/b".into(),
                options: vec![
                    ("endpoint".into(), "http://h:1".into()),
                    ("allow_http".into(), "true".into())
                ],
            }
        );
        assert!(matches!(
            Location::parse("az://c").unwrap(),
            Location::Azure { container, prefix, .. } if container == "c" && prefix.is_empty()
        ));
        assert!(matches!(
            Location::parse("gs://g/p").unwrap(),
            Location::Gcs { bucket, prefix, .. } if bucket == "g" && prefix == "p"
        ));
    }

    #[test]
    fn rejects_bad_locations_without_leaking_the_query() {
        assert!(Location::parse("").is_err());
        assert!(Location::parse("ftp://x").is_err());
        assert!(Location::parse("s3:///p").is_err());
        let err = Location::parse("s3://b/p?secret").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let err = Location::parse("s3://b?aws_secret_access_key=hunter2")
            .unwrap()
            .build("s3://b?aws_secret_access_key=hunter2&bogus=1");
        assert!(err.is_ok() || !err.unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn unknown_builder_option_is_an_error() {
        let loc = Location::parse("s3://b?no_such_option=1").unwrap();
        let err = loc.build("s3://b?no_such_option=1").unwrap_err();
        assert!(err.to_string().contains("no_such_option"), "{err}");
    }
}
