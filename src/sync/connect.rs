//! Opening the connection described by a [`SyncConfig`].
//!
//! The first connection attempt is not retried (`retry_on_initial_connect` is off): a server
//! that is down, refuses the creds or fails TLS is reported at once as a [`SyncError`]. Once
//! connected, async-nats reconnects by itself after a dropped connection, trying the configured
//! servers in turn and waiting [`reconnect_delay`] between attempts: 100 ms, doubling with each
//! failed attempt, capped at 5 s, so a restarted server is found again quickly without
//! hammering one that stays down.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::ConnectOptions;

use super::{SyncConfig, SyncError};

/// The first reconnect delay.
pub const RECONNECT_DELAY_MIN: Duration = Duration::from_millis(100);
/// The longest reconnect delay.
pub const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(5);

/// The delay before reconnect attempt `attempts` (0 = the first): 100 ms · 2^attempts, capped
/// at 5 s.
pub fn reconnect_delay(attempts: usize) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(31) as u32).unwrap_or(u32::MAX);
    RECONNECT_DELAY_MIN.saturating_mul(factor).min(RECONNECT_DELAY_MAX)
}

/// What the server said went wrong, outside any request: async-nats reports a permissions
/// violation (`-ERR 'Permissions Violation for Publish to …'`) only as a connection event,
/// and the request or publish that caused it just never gets an answer. [`connect_watching`]
/// records the first such violation here, so a caller can stop with
/// [`SyncError::PermissionDenied`] instead of retrying into a timeout.
#[derive(Debug, Clone, Default)]
pub struct ServerErrors(Arc<Mutex<Option<String>>>);

impl ServerErrors {
    /// The first permissions violation the server reported, if any.
    pub fn permission_violation(&self) -> Option<String> {
        self.0.lock().map(|slot| slot.clone()).unwrap_or_default()
    }

    fn record(&self, text: &str) {
        if text.to_lowercase().contains("permission")
            && let Ok(mut slot) = self.0.lock()
        {
            slot.get_or_insert_with(|| text.to_owned());
        }
    }

    /// Resolves with the violation's text once the server has reported one (checked every
    /// 50 ms); never otherwise. Race it against the work it guards.
    pub async fn violated(&self) -> String {
        loop {
            if let Some(text) = self.permission_violation() {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Connects to the configured servers. The config is validated first.
pub async fn connect(config: &SyncConfig) -> Result<async_nats::Client, SyncError> {
    Ok(connect_watching(config).await?.0)
}

/// [`connect`], with the server's permissions violations recorded (see [`ServerErrors`]).
pub async fn connect_watching(config: &SyncConfig) -> Result<(async_nats::Client, ServerErrors), SyncError> {
    config.validate()?;
    let servers = config.servers.join(", ");
    let mut options = match &config.creds {
        Some(path) => ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| SyncError::Creds { path: path.display().to_string(), reason: e.to_string() })?,
        None => ConnectOptions::new(),
    };
    if let Some(tls) = &config.tls {
        options = options.require_tls(true);
        if let Some(ca) = &tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &tls.cert_and_key {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
    }
    let errors = ServerErrors::default();
    let watch = errors.clone();
    let options = options
        .name(&config.name)
        .connection_timeout(config.connect_timeout)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(move |event| {
            let watch = watch.clone();
            async move {
                if let async_nats::Event::ServerError(async_nats::ServerError::Other(text)) = event {
                    watch.record(&text);
                }
            }
        });
    let addresses = config
        .servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SyncError::Config(format!("bad server address in {servers}: {e}")))?;
    // Bound the whole attempt too: the timeout option covers one TCP/TLS connect, not the
    // handshake with every server in the list.
    let limit = config.connect_timeout.saturating_mul(config.servers.len() as u32 + 1);
    match tokio::time::timeout(limit, options.connect(addresses)).await {
        Err(_) => Err(SyncError::Timeout { server: servers, what: "connecting".into() }),
        Ok(Err(e)) => Err(SyncError::from_connect(&servers, &e)),
        Ok(Ok(client)) => Ok((client, errors)),
    }
}

/// The server `client` is connected to, as `host:port`.
pub(crate) fn server_of(client: &async_nats::Client) -> String {
    let info = client.server_info();
    format!("{}:{}", info.host, info.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconnect_delay_doubles_up_to_five_seconds() {
        let delays: Vec<u64> = (0..8).map(|n| reconnect_delay(n).as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(reconnect_delay(usize::MAX), RECONNECT_DELAY_MAX);
    }
}
