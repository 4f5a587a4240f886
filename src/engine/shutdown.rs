//! Cooperative shutdown: SIGINT/SIGTERM set a flag the engine checks between pages, so a
//! stop never abandons a page half-committed, and sleeping loops wake at once.

use std::sync::Arc;

use tokio::sync::watch;

/// A shutdown flag shared by every task of the daemon.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A flag that is not set.
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self { tx: Arc::new(tx), rx }
    }

    /// Sets the flag.
    pub fn request(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the flag is set.
    pub fn requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the flag is set.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|set| *set).await;
    }

    /// Sets the flag on SIGINT or SIGTERM.
    pub fn listen_for_signals(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                        let _ = ctrl_c.await;
                        this.request();
                        return;
                    }
                };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            tracing::info!("stop requested: finishing the current page");
            this.request();
        });
    }
}
