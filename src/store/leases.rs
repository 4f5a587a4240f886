//! Leases: one holder per (connector, kind) at a time, with an expiry, a heartbeat and a
//! fencing token, so several instances sharing one store never pull the same kind at once
//! and an instance that stalled or died can never write after another took over.
//!
//! - [`Store::acquire_lease`] takes a free or expired lease and bumps its token; runs of the
//!   same connector and kind still marked `running` belong to a holder that lost the lease,
//!   and are closed as `interrupted` in the same transaction.
//! - [`Store::renew_lease`] is the heartbeat: it extends the expiry only while the token is
//!   still the holder's.
//! - Every page commit carries a [`Fence`] (the token and the cursor the page was pulled
//!   from); `commit_page` renews the lease and compares the cursor inside its transaction,
//!   and a page that fails either check is rejected, counted in the row's `rejected` and
//!   never written (see `page.rs`).
//!
//! Time is the store's clock; instances sharing a store need clocks that agree within a
//! small fraction of the lease's time to live (NTP does far better).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};
use zveno_connector::{Cursor, Kind};

use super::runs::RunStatus;
use super::sql::{from_ms, to_u64};
use super::{Store, StoreError};

/// The row of the store-wide identity-resolution lock (see [`Store::acquire_lock`]).
const RESOLVE_LOCK: (&str, &str) = ("*resolve*", "*");
/// The connector column of a flow's apply lease; its kind column is the flow's name (see
/// [`Store::acquire_flow_lease`]).
pub(crate) const FLOW_LEASE: &str = "*flow*";

/// A lease held: the fencing token every commit under it presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Connector name.
    pub connector: String,
    /// What the lease covers: a kind, or `*` for a store-wide lock.
    pub kind: String,
    /// Grows by one at every acquisition: a commit with an older token is refused.
    pub token: i64,
    /// How long each renewal extends it.
    pub ttl: Duration,
}

/// Who holds a lease another instance asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The holder's instance id.
    pub holder: String,
    /// When the lease expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// What a page commit must prove: that its puller still holds the lease, and that the
/// cursor is still the one the page was pulled from.
#[derive(Debug, Clone)]
pub struct Fence<'a> {
    /// The lease the puller holds.
    pub lease: &'a Lease,
    /// The cursor the page was pulled from.
    pub from: &'a Cursor,
}

/// Keeps a lease alive while its holder works (a run, a resolution): renews it every third of its time to live in a
/// task of its own, so a page that takes long (a vendor's throttling waits) does not lose
/// it. Dropping the guard stops the task. When a renewal finds the lease taken over,
/// [`Heartbeat::lost`] turns true (a run then stops before its next page).
#[derive(Debug)]
pub struct Heartbeat {
    lost: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    pub fn start(store: Store, lease: Lease) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let every = (lease.ttl / 3).max(Duration::from_millis(100));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match store.renew_lease(&lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            connector = %lease.connector,
                            kind = %lease.kind,
                            token = lease.token,
                            "lease lost to another instance; this run stops"
                        );
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    // The store is unreachable: the next page commit will tell (and is
                    // fenced anyway); keep trying until then.
                    Err(e) => tracing::warn!(error = %e, "cannot renew the lease"),
                }
            }
        });
        Self { lost, task }
    }

    /// Whether another instance took the lease over.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A lease's row, for status listings and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    /// Connector name.
    pub connector: String,
    /// Kind, or `*`.
    pub kind: String,
    /// Current holder, `None` once released.
    pub holder: Option<String>,
    /// The current fencing token.
    pub token: i64,
    /// Until when.
    pub expires_at: DateTime<Utc>,
    /// Pages refused to stale holders (or to pulls whose cursor had moved).
    pub rejected: u64,
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Renews `lease` inside a transaction; `false` when its token is no longer current. On
/// PostgreSQL the update holds the row lock until the transaction ends, so no other
/// instance can take the lease over between this check and the commit.
pub(super) async fn renew_in(conn: &mut AnyConnection, lease: &Lease, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE leases SET expires_at = $4, heartbeat_at = $5 \
         WHERE connector = $1 AND kind = $2 AND token = $3 AND holder IS NOT NULL",
    )
    .bind(&lease.connector)
    .bind(&lease.kind)
    .bind(lease.token)
    .bind(now.saturating_add(ttl_ms(lease.ttl)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Takes the lease on `connector`/`kind` for `holder` when it is free or expired, and
    /// closes as `interrupted` the runs of that kind the previous holder left `running`.
    /// `Err(holder)`-like [`LeaseHolder`] when another instance holds it.
    pub async fn acquire_lease(
        &self,
        connector: &str,
        kind: Kind,
        holder: &str,
        ttl: Duration,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        self.lease_kind(connector, kind, holder, ttl, None).await
    }

    /// [`Store::acquire_lease`], also taking it from `dead`, a holder the caller knows has
    /// died (a process of this host that no longer exists), without waiting for expiry.
    /// Safe even if it is wrong: the old holder's commits are refused by their token.
    pub async fn take_over_lease(
        &self,
        connector: &str,
        kind: Kind,
        holder: &str,
        ttl: Duration,
        dead: &str,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        self.lease_kind(connector, kind, holder, ttl, Some(dead)).await
    }

    async fn lease_kind(
        &self,
        connector: &str,
        kind: Kind,
        holder: &str,
        ttl: Duration,
        dead: Option<&str>,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        let target = format!("{connector}/{kind}");
        let q = StoreError::query("acquire_lease", &target);
        let now = self.now_ms();
        let mut tx = self.begin_write().await.map_err(StoreError::query("acquire_lease", &target))?;
        let taken = take(&mut tx, connector, kind.as_str(), holder, ttl, now, dead).await.map_err(q)?;
        let lease = match taken {
            Ok(lease) => lease,
            Err(held) => return Ok(Err(held)),
        };
        sqlx::query(
            "UPDATE runs SET status = $3, finished_at = $4, \
             message = COALESCE(message, 'the instance pulling it stopped before the end (its lease expired)') \
             WHERE connector = $1 AND kind = $2 AND status = 'running'",
        )
        .bind(connector)
        .bind(kind.as_str())
        .bind(RunStatus::Interrupted.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("acquire_lease", &target))?;
        tx.commit().await.map_err(StoreError::query("acquire_lease", &target))?;
        Ok(Ok(lease))
    }

    /// The heartbeat: extends `lease` by its time to live. `false` when it was lost (it
    /// expired and another instance took it): the holder must stop writing.
    pub async fn renew_lease(&self, lease: &Lease) -> Result<bool, StoreError> {
        let target = format!("{}/{}", lease.connector, lease.kind);
        let mut conn = self.pool.acquire().await.map_err(StoreError::query("renew_lease", &target))?;
        renew_in(&mut conn, lease, self.now_ms()).await.map_err(StoreError::query("renew_lease", &target))
    }

    /// Gives `lease` up (when its token is still current), so another instance may take it
    /// at once instead of at expiry.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), StoreError> {
        let target = format!("{}/{}", lease.connector, lease.kind);
        sqlx::query(
            "UPDATE leases SET holder = NULL, expires_at = $4 \
             WHERE connector = $1 AND kind = $2 AND token = $3",
        )
        .bind(&lease.connector)
        .bind(&lease.kind)
        .bind(lease.token)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await
        .map_err(StoreError::query("release_lease", target))?;
        Ok(())
    }

    /// Takes the store-wide lock identity resolution runs under, so resolutions of every
    /// instance and CLI command (`link`, `unlink`, `resolve`) never interleave. `Err` names
    /// the holder while another has it.
    pub async fn acquire_lock(&self, holder: &str, ttl: Duration) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        let (connector, kind) = RESOLVE_LOCK;
        self.acquire_row(connector, kind, holder, ttl, None).await
    }

    /// Takes the lease under which flow `flow` is applied, so two instances (a daemon and a
    /// `zveno apply` in a shell, or two daemons) never send its ops at once. Every op enters
    /// the outbox fenced by it (see `Store::outbox_begin`). `Err` names the holder while
    /// another has it.
    pub async fn acquire_flow_lease(
        &self,
        flow: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        self.acquire_row(FLOW_LEASE, flow, holder, ttl, None).await
    }

    /// [`Store::acquire_flow_lease`], also taking it from `dead`, a holder the caller knows
    /// has died (see [`Store::take_over_lease`]).
    pub async fn take_over_flow_lease(
        &self,
        flow: &str,
        holder: &str,
        ttl: Duration,
        dead: &str,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        self.acquire_row(FLOW_LEASE, flow, holder, ttl, Some(dead)).await
    }

    /// A lease on a row no run is tied to (a lock, a flow).
    async fn acquire_row(
        &self,
        connector: &str,
        kind: &str,
        holder: &str,
        ttl: Duration,
        dead: Option<&str>,
    ) -> Result<Result<Lease, LeaseHolder>, StoreError> {
        let target = format!("{connector}/{kind}");
        let mut tx = self.begin_write().await.map_err(StoreError::query("acquire_lock", &target))?;
        let taken = take(&mut tx, connector, kind, holder, ttl, self.now_ms(), dead)
            .await
            .map_err(StoreError::query("acquire_lock", &target))?;
        if taken.is_ok() {
            tx.commit().await.map_err(StoreError::query("acquire_lock", &target))?;
        }
        Ok(taken)
    }

    /// Every lease row, for listings and tests.
    pub async fn leases(&self) -> Result<Vec<LeaseRow>, StoreError> {
        const OP: &str = "leases";
        let rows = sqlx::query(
            "SELECT connector, kind, holder, token, expires_at, rejected FROM leases ORDER BY connector, kind",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(OP, "all"))?;
        rows.iter()
            .map(|row| {
                let bad = |e: sqlx::Error| StoreError::corrupt(OP, "leases", e);
                Ok(LeaseRow {
                    connector: row.try_get("connector").map_err(bad)?,
                    kind: row.try_get("kind").map_err(bad)?,
                    holder: row.try_get("holder").map_err(bad)?,
                    token: row.try_get("token").map_err(bad)?,
                    expires_at: from_ms(row.try_get("expires_at").map_err(bad)?)
                        .map_err(|e| StoreError::corrupt(OP, "leases", e))?,
                    rejected: to_u64(row.try_get("rejected").map_err(bad)?),
                })
            })
            .collect()
    }

    /// Counts a page refused under `lease` (outside the refused transaction, which rolled
    /// back).
    pub(super) async fn count_rejection(&self, lease: &Lease) -> Result<(), StoreError> {
        let target = format!("{}/{}", lease.connector, lease.kind);
        sqlx::query("UPDATE leases SET rejected = rejected + 1 WHERE connector = $1 AND kind = $2")
            .bind(&lease.connector)
            .bind(&lease.kind)
            .execute(&self.pool)
            .await
            .map_err(StoreError::query("count_rejection", target))?;
        Ok(())
    }
}

/// The acquisition itself: one upsert that succeeds only on a free or expired row (or one
/// held by `dead`), bumping the token; the current holder when it does not.
async fn take(
    conn: &mut AnyConnection,
    connector: &str,
    kind: &str,
    holder: &str,
    ttl: Duration,
    now: i64,
    dead: Option<&str>,
) -> Result<Result<Lease, LeaseHolder>, sqlx::Error> {
    let token: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leases (connector, kind, holder, token, expires_at, heartbeat_at) \
         VALUES ($1, $2, $3, 1, $4, $5) \
         ON CONFLICT (connector, kind) DO UPDATE SET \
           holder = excluded.holder, token = leases.token + 1, \
           expires_at = excluded.expires_at, heartbeat_at = excluded.heartbeat_at \
         WHERE leases.holder IS NULL OR leases.expires_at <= $5 OR leases.holder = $6 \
         RETURNING token",
    )
    .bind(connector)
    .bind(kind)
    .bind(holder)
    .bind(now.saturating_add(ttl_ms(ttl)))
    .bind(now)
    .bind(dead)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(token) = token {
        return Ok(Ok(Lease { connector: connector.to_string(), kind: kind.to_string(), token, ttl }));
    }
    let row = sqlx::query("SELECT holder, expires_at FROM leases WHERE connector = $1 AND kind = $2")
        .bind(connector)
        .bind(kind)
        .fetch_one(&mut *conn)
        .await?;
    let expires_at: i64 = row.try_get("expires_at")?;
    Ok(Err(LeaseHolder {
        holder: row.try_get::<Option<String>, _>("holder")?.unwrap_or_default(),
        expires_at: from_ms(expires_at).unwrap_or_default(),
    }))
}
