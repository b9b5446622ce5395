//! How a PostgreSQL URL becomes a connection (minimal form: the URL as
//! tokio-postgres reads it, loopback only, no TLS).

use crate::hint::HINT;

/// A server and database to connect to.
#[derive(Debug)]
pub struct Target {
    config: tokio_postgres::Config,
    redacted: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "{url} is not a PostgreSQL URL: {message}{HINT}write it as postgres://USER@HOST:PORT/DATABASE"
    )]
    BadUrl { url: String, message: String },
    #[error(
        "could not connect to {url}: {message}{HINT}check that the server is running and reachable"
    )]
    Failed { url: String, message: String },
    #[error(
        "the connection to {url} was lost: {message}{HINT}run the command again once the server is reachable"
    )]
    Lost { url: String, message: String },
}

impl ConnectError {
    /// An error of an established connection to `url`.
    pub fn from_pg(err: &tokio_postgres::Error, url: &str) -> ConnectError {
        if err.is_closed() {
            ConnectError::Lost {
                url: url.to_string(),
                message: err.to_string(),
            }
        } else {
            ConnectError::Failed {
                url: url.to_string(),
                message: err.to_string(),
            }
        }
    }
}

impl Target {
    pub fn from_env_url(url: &str) -> Result<Target, ConnectError> {
        let redacted = match url::Url::parse(url) {
            Ok(mut parsed) => {
                let _ = parsed.set_password(None);
                parsed.to_string()
            }
            Err(err) => {
                return Err(ConnectError::BadUrl {
                    url: "the backend URL".into(),
                    message: err.to_string(),
                });
            }
        };
        let config = url
            .parse()
            .map_err(|err: tokio_postgres::Error| ConnectError::BadUrl {
                url: redacted.clone(),
                message: err.to_string(),
            })?;
        Ok(Target { config, redacted })
    }

    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    pub async fn connect(&self) -> Result<tokio_postgres::Client, ConnectError> {
        let (client, connection) =
            self.config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|err| ConnectError::Failed {
                    url: self.redacted.clone(),
                    message: err.to_string(),
                })?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!("the PostgreSQL connection ended: {err}");
            }
        });
        Ok(client)
    }
}
