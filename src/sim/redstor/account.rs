//! The Redstor service account the simulator trusts: a client id and an RSA
//! key pair. The simulator keeps the private key only to hand it to whoever
//! runs it (the `REDSTOR_PRIVATE_KEY_FILE` of the clients); it verifies
//! client assertions with the public half.

use crate::hint::HINT;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;

use super::super::SimError;

/// The fixed client id of the simulator's service account.
pub const CLIENT_ID: &str = "entitle-sim";

/// The Redstor service account the simulator trusts.
#[derive(Clone)]
pub struct RedstorAccount {
    pub client_id: String,
    pem: Arc<str>,
    /// The public key as PKCS#1 `RSAPublicKey` DER, as ring verifies with.
    public_key: Arc<[u8]>,
}

impl std::fmt::Debug for RedstorAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedstorAccount")
            .field("client_id", &self.client_id)
            .field("private_key", &"***")
            .finish()
    }
}

fn key_error(what: &str, err: impl std::fmt::Display) -> SimError {
    SimError::Key(format!("{what}: {err}"))
}

impl RedstorAccount {
    /// Generates a key pair (RSA 3072); client id `entitle-sim`.
    pub fn generate() -> Result<RedstorAccount, SimError> {
        use rsa::Generate;
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::PrivateKey::try_generate()
            .map_err(|err| key_error("could not generate the Redstor demo key", err))?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| key_error("could not encode the Redstor demo key", err))?;
        Self::from_pem(&pem)
    }

    /// The account for a PKCS#8 PEM private key.
    pub(crate) fn from_pem(pem: &str) -> Result<RedstorAccount, SimError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|err| key_error("the Redstor key is not a PKCS#8 PEM private key", err))?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|err| key_error("the Redstor key is not a usable RSA key", err))?;
        Ok(RedstorAccount {
            client_id: CLIENT_ID.to_string(),
            pem: Arc::from(pem),
            public_key: Arc::from(pair.public().as_ref()),
        })
    }

    /// The private key as PKCS#8 PEM (what `REDSTOR_PRIVATE_KEY_FILE` holds).
    pub fn private_key_pem(&self) -> &str {
        &self.pem
    }

    pub(crate) fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// Writes the private key to a new file `path`, mode 0600 on unix.
    pub fn write_private_key(&self, path: &Path) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(self.pem.as_bytes())?;
        file.sync_all()
    }

    /// Reads the key at `path`, or generates one and writes it there.
    pub(crate) fn load_or_create(path: &Path) -> Result<RedstorAccount, SimError> {
        match std::fs::read_to_string(path) {
            Ok(pem) => Self::from_pem(&pem).map_err(|err| match err {
                SimError::Key(text) => SimError::Key(format!(
                    "{}: {text}{HINT}move the file away to have a new key made",
                    path.display()
                )),
                other => other,
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let account = Self::generate()?;
                account.write_private_key(path).map_err(|err| {
                    key_error(&format!("could not write {}", path.display()), err)
                })?;
                Ok(account)
            }
            Err(err) => Err(key_error(
                &format!("could not read {}", path.display()),
                err,
            )),
        }
    }
}

/// Where the simulator keeps the Redstor key beside a data file:
/// `<data path>.redstor-key.pem`.
pub fn key_path(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".redstor-key.pem");
    PathBuf::from(name)
}
