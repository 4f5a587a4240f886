//! The Bitrix24 [`Connector`]: companies → clients, contacts → contacts, tasks → tasks.
//!
//! Reads are keyset scans packed into `batch` (see [`list`]); a page is one batch of up to
//! 50 list calls — 2,500 records — plus, for companies, one batch of requisite lookups.
//! Fetches by id chain 50 `get` calls in one batch (see [`fetch`]).
//! Deletes are found by the engine's id census (see [`census`]) after incremental runs, and
//! by diffing completed full scans: Bitrix24 lists no deleted records, and its delete
//! events are never retried.

mod census;
mod cursor;
mod fetch;
mod list;
mod pull;
mod push;
mod requisites;
mod users;

use async_trait::async_trait;
use zveno_connector::http::HttpStats;
use zveno_connector::{
    Capabilities, CensusPage, CensusPlan, ChangeHint, Connector, ConnectorError, Cursor, DeleteDetection, Fetched,
    Kind, Page, Secret, SyncMode, WebhookRequest, WriteOp, WriteOutcome,
};

use crate::client::{BitrixClient, Command, MAX_COMMANDS, PAGE_ROWS};
use crate::config::Settings;
use cursor::CursorState;

/// A configured Bitrix24 portal.
#[derive(Debug)]
pub struct Bitrix24Connector {
    name: String,
    kinds: Vec<Kind>,
    settings: Settings,
    client: BitrixClient,
    users: zveno_connector::Directory<crate::mapping::People, u64>,
    /// The outgoing webhook's application token (`None`: events are refused).
    application_token: Option<Secret>,
}

/// Kinds the connector writes.
const WRITABLE: [Kind; 2] = [Kind::Client, Kind::Task];

impl Bitrix24Connector {
    /// A connector named `name` reading `kinds`.
    pub fn new(name: &str, kinds: Vec<Kind>, settings: Settings, client: BitrixClient) -> Self {
        Self { name: name.to_string(), kinds, settings, client, users: users::cache(), application_token: None }
    }

    /// The same connector, accepting events that carry this application token.
    pub fn with_webhook_secret(mut self, token: Option<Secret>) -> Self {
        self.application_token = token;
        self
    }

    fn ensure_kind(&self, kind: Kind) -> Result<(), ConnectorError> {
        if self.kinds.contains(&kind) {
            Ok(())
        } else {
            Err(ConnectorError::unsupported(format!(
                "connector {} is not configured to sync {kind} records",
                self.name
            )))
        }
    }
}

#[async_trait]
impl Connector for Bitrix24Connector {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> &str {
        crate::VENDOR
    }

    /// The portal (its host, as the webhook URL names it; never the URL's secret path).
    fn source(&self) -> Option<String> {
        Some(zveno_connector::host_of(self.client.webhook().portal()))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: self.kinds.clone(),
            write: WRITABLE.into_iter().filter(|k| self.kinds.contains(k)).collect(),
            incremental: true,
            deletes: DeleteDetection::Census,
            page_size: MAX_COMMANDS * PAGE_ROWS,
            floor_page_size: MAX_COMMANDS * PAGE_ROWS,
            write_batch: MAX_COMMANDS,
            webhooks: true,
        }
    }

    /// One batch of empty list calls, one per method the configured kinds need: it proves
    /// the webhook works and holds every scope (`crm`, `task`, `user`) without reading data
    /// or writing anything.
    async fn check(&self) -> Result<(), ConnectorError> {
        let mut methods = vec![];
        for kind in &self.kinds {
            methods.push(match kind {
                Kind::Client => "crm.company.list",
                Kind::Contact => "crm.contact.list",
                Kind::Task => "tasks.task.list",
            });
            if *kind == Kind::Client {
                methods.push("crm.requisite.list");
            }
        }
        let mut probes =
            vec![Command::new("probe", 0, "user.get").param("FILTER[ID]", self.client.webhook().user_id().to_string())];
        probes.extend(methods.into_iter().enumerate().map(|(i, m)| empty_list(i + 1, m)));
        let reply = self.client.batch(&probes, true).await?;
        for probe in &probes {
            if let Some(error) = reply.result_error.get(&probe.key) {
                return Err(self.client.command_error(probe.method, error));
            }
        }
        Ok(())
    }

    async fn webhook(&self, request: &WebhookRequest) -> Result<Vec<ChangeHint>, ConnectorError> {
        let token = zveno_connector::webhook::secret(self.application_token.as_ref(), &self.name)?;
        crate::webhook::parse(request, token, &self.kinds)
    }

    async fn pull(&self, kind: Kind, mode: SyncMode, cursor: &Cursor) -> Result<Page, ConnectorError> {
        self.ensure_kind(kind)?;
        self.pull_page(kind, mode, cursor).await
    }

    async fn fetch(&self, kind: Kind, ids: &[String]) -> Result<Fetched, ConnectorError> {
        self.ensure_kind(kind)?;
        self.fetch_ids(kind, ids).await
    }

    async fn push(&self, kind: Kind, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.ensure_kind(kind)?;
        match kind {
            Kind::Client => self.push_companies(ops).await,
            Kind::Task => self.push_tasks(ops).await,
            Kind::Contact => Err(ConnectorError::unsupported("bitrix24 does not write contacts")),
        }
    }

    /// Every incremental cycle: the id census costs ceil(records / 2,500) requests.
    fn census_plan(&self, kind: Kind) -> Option<CensusPlan> {
        self.kinds.contains(&kind).then_some(CensusPlan { every: std::time::Duration::ZERO })
    }

    async fn census(&self, kind: Kind, cursor: &Cursor) -> Result<CensusPage, ConnectorError> {
        self.ensure_kind(kind)?;
        self.census_page(kind, cursor).await
    }

    fn incremental_cursor(&self, kind: Kind, since: chrono::DateTime<chrono::Utc>) -> Option<Cursor> {
        self.kinds
            .contains(&kind)
            .then(|| CursorState::incremental_from(self.client.http().to_vendor_time(since)).encode().ok())
            .flatten()
    }

    /// Companies by `ORIGINATOR_ID = zveno` + `ORIGIN_ID = <handle>`, tasks by
    /// `XML_ID = zveno-<handle>`: list filters read the database directly (no search index),
    /// so a create not listed was never made.
    async fn find_created(
        &self,
        kind: Kind,
        handle: &str,
        _sent: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, ConnectorError> {
        let command = match kind {
            Kind::Client => crate::client::Command::new("h", 0, "crm.company.list")
                .param("filter[ORIGINATOR_ID]", push::ORIGINATOR)
                .param("filter[ORIGIN_ID]", handle)
                .list("select", ["ID"]),
            Kind::Task => crate::client::Command::new("h", 0, "tasks.task.list")
                .param("filter[XML_ID]", push::task_handle(handle))
                .list("select", ["ID"]),
            Kind::Contact => {
                return Err(ConnectorError::unsupported("zveno does not create Bitrix24 contacts"));
            }
        };
        let reply = self.client.batch(&[command.param("start", "-1")], true).await?;
        let rows = push::listed(&reply, &crate::client::key("h", 0))?;
        let ids = rows.iter().filter_map(|r| crate::dto::id_of(r.get("ID").or_else(|| r.get("id"))));
        Ok(ids.min().map(|id| id.to_string()))
    }

    fn http_stats(&self) -> HttpStats {
        self.client.stats()
    }
}

/// A list call that matches nothing (`ID = 0`): cheap, yet fails without the scope.
fn empty_list(index: usize, method: &'static str) -> Command {
    Command::new("probe", index, method).param("filter[ID]", "0").list("select", ["ID"]).param("start", "-1")
}
