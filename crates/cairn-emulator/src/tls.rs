//! A throw-away certificate authority for the emulators' HTTPS.
//!
//! Clients are pointed at the emulator with its CA certificate (the way the official SDKs
//! accept `ca_certs`), so the emulator's certificate is issued by a generated CA rather than
//! self-signed: the server certificate can then name several hosts and be regenerated
//! without clients re-trusting anything but the CA file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::EmulatorError;

/// File name under the data directory where the CA certificate is written.
pub const CA_FILE_NAME: &str = "emulator-ca.pem";

/// File name under the data directory where the CA's private key is kept (owner-only), so
/// a restarted emulator is still trusted by clients holding the earlier CA file.
pub const CA_KEY_FILE_NAME: &str = "emulator-ca-key.pem";

/// A generated CA and a server certificate it issued.
pub struct EmulatorTls {
    /// The CA certificate, PEM-encoded: what clients must trust.
    pub ca_pem: String,
    /// Ready-to-use rustls server configuration (HTTP/1.1 and HTTP/2 via ALPN).
    pub server_config: Arc<ServerConfig>,
}

impl std::fmt::Debug for EmulatorTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorTls").finish_non_exhaustive()
    }
}

impl EmulatorTls {
    /// Generates a CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and
    /// any extra host names given.
    ///
    /// # Errors
    /// [`EmulatorError::Tls`] if key or certificate generation fails.
    pub fn generate(extra_hosts: &[&str]) -> Result<Self, EmulatorError> {
        let ca_key = KeyPair::generate().map_err(|e| EmulatorError::Tls(e.to_string()))?;
        Self::with_ca_key(ca_key, extra_hosts)
    }

    /// Like [`EmulatorTls::generate`], but the CA key is read from `dir` (or created there
    /// on first use), and the CA certificate written next to it. The CA's name, key and
    /// validity do not change between runs, so a client trusting an earlier copy of the CA
    /// file keeps trusting the emulator after a restart.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] reading or writing the key, [`EmulatorError::Tls`] if it is
    /// not a usable key.
    pub fn load_or_generate(dir: &Path, extra_hosts: &[&str]) -> Result<Self, EmulatorError> {
        let tls_err = |e: rcgen::Error| EmulatorError::Tls(e.to_string());
        std::fs::create_dir_all(dir)
            .map_err(|e| EmulatorError::io(format!("creating {}", dir.display()), e))?;
        let key_path = dir.join(CA_KEY_FILE_NAME);
        let ca_key = if key_path.exists() {
            let pem = std::fs::read_to_string(&key_path)
                .map_err(|e| EmulatorError::io(format!("reading {}", key_path.display()), e))?;
            KeyPair::from_pem(&pem).map_err(tls_err)?
        } else {
            use std::io::Write;
            let key = KeyPair::generate().map_err(tls_err)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let write = |options: &std::fs::OpenOptions| -> std::io::Result<()> {
                let mut file = options.open(&key_path)?;
                file.write_all(key.serialize_pem().as_bytes())?;
                file.sync_all()
            };
            write(&options)
                .map_err(|e| EmulatorError::io(format!("writing {}", key_path.display()), e))?;
            key
        };
        let tls = Self::with_ca_key(ca_key, extra_hosts)?;
        tls.write_ca(dir)?;
        Ok(tls)
    }

    fn with_ca_key(ca_key: KeyPair, extra_hosts: &[&str]) -> Result<Self, EmulatorError> {
        let tls_err = |e: rcgen::Error| EmulatorError::Tls(e.to_string());
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Cairn emulator CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Cairn");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_err)?;
        let ca_pem = ca_cert.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        names.extend(extra_hosts.iter().map(|h| (*h).to_owned()));
        let server_key = KeyPair::generate().map_err(tls_err)?;
        let mut server_params = CertificateParams::new(names).map_err(tls_err)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .map_err(tls_err)?;

        let chain = vec![
            server_cert.der().clone(),
            CertificateDer::from(ca_cert.der().to_vec()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| EmulatorError::Tls(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| EmulatorError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            ca_pem,
            server_config: Arc::new(config),
        })
    }

    /// Writes the CA certificate to `dir/emulator-ca.pem` and returns the path.
    ///
    /// # Errors
    /// [`EmulatorError::Io`] if the directory cannot be created or the file written.
    pub fn write_ca(&self, dir: &Path) -> Result<PathBuf, EmulatorError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| EmulatorError::io(format!("creating {}", dir.display()), e))?;
        let path = dir.join(CA_FILE_NAME);
        std::fs::write(&path, &self.ca_pem)
            .map_err(|e| EmulatorError::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }
}
