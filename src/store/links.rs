//! Reading entities and links back: what resolution needs to keep entity ids stable and
//! to find the clusters it re-resolves, and what the views list.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::any::AnyRow;
use sqlx::Row;
use zveno_connector::Kind;

use super::entities::{EntityRow, LinkRow};
use super::records::RecordKey;
use super::sql::{self, LOOKUPS_PER_STATEMENT};
use super::{Store, StoreError};

pub(super) const ENTITY_COLUMNS: &str = "id, kind, name, owner, search, golden, provenance, sources, updated_at";
pub(super) const LINK_COLUMNS: &str =
    "connector, kind, external_id, entity_id, rule, score, evidence, via, url, client_id";

impl Store {
    /// The entity of each of `records` that has a link.
    pub async fn links_of(&self, records: &[RecordKey]) -> Result<Vec<LinkRow>, StoreError> {
        const OP: &str = "links_of";
        let mut groups: BTreeMap<(&str, Kind), Vec<&str>> = BTreeMap::new();
        for k in records {
            groups.entry((k.connector.as_str(), k.kind)).or_default().push(k.external_id.as_str());
        }
        let mut out = Vec::new();
        for ((connector, kind), ids) in groups {
            for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT {LINK_COLUMNS} FROM links WHERE connector = $1 AND kind = $2 AND external_id IN ({})",
                    sql::placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(connector).bind(kind.as_str());
                for id in chunk {
                    query = query.bind(*id);
                }
                let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "links"))?;
                for row in &rows {
                    out.push(decode_link(row).map_err(|e| StoreError::corrupt(OP, "links", e))?);
                }
            }
        }
        Ok(out)
    }

    /// The entity of every record of `kind` that has one: what a full re-resolve needs to
    /// keep ids, without the rest of each link (a million links read whole cost hundreds of
    /// megabytes).
    pub async fn link_entities(&self, kind: Kind) -> Result<Vec<(RecordKey, String)>, StoreError> {
        const OP: &str = "link_entities";
        let rows = sqlx::query("SELECT connector, external_id, entity_id FROM links WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(OP, kind))?;
        rows.iter()
            .map(|row| {
                let key =
                    RecordKey { connector: row.try_get("connector")?, kind, external_id: row.try_get("external_id")? };
                Ok((key, row.try_get("entity_id")?))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| StoreError::corrupt(OP, "links", e))
    }

    /// Every link of `kind`.
    pub async fn all_links(&self, kind: Kind) -> Result<Vec<LinkRow>, StoreError> {
        const OP: &str = "all_links";
        let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE kind = $1");
        let rows =
            sqlx::query(&sql).bind(kind.as_str()).fetch_all(&self.pool).await.map_err(StoreError::query(OP, kind))?;
        rows.iter().map(|row| decode_link(row).map_err(|e| StoreError::corrupt(OP, "links", e))).collect()
    }

    /// The links of the records in `entities`.
    pub async fn entity_links(&self, entities: &[String]) -> Result<Vec<LinkRow>, StoreError> {
        const OP: &str = "entity_links";
        let mut out = Vec::new();
        for chunk in entities.chunks(LOOKUPS_PER_STATEMENT) {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM links WHERE entity_id IN ({}) ORDER BY entity_id, connector, external_id",
                sql::placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            let rows = query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "links"))?;
            for row in &rows {
                out.push(decode_link(row).map_err(|e| StoreError::corrupt(OP, "links", e))?);
            }
        }
        Ok(out)
    }

    /// Which of `ids` name existing entities.
    pub async fn existing_entities(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        Ok(self.entity_names(ids).await?.into_keys().collect())
    }

    /// The names of the entities among `ids` that exist.
    pub async fn entity_names(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError> {
        const OP: &str = "entity_names";
        let mut out = HashMap::new();
        for chunk in ids.chunks(LOOKUPS_PER_STATEMENT) {
            let sql = format!("SELECT id, name FROM entities WHERE id IN ({})", sql::placeholders(1, chunk.len()));
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await.map_err(StoreError::query(OP, "entities"))? {
                let corrupt = |e: sqlx::Error| StoreError::corrupt(OP, "entities", e);
                out.insert(row.try_get("id").map_err(corrupt)?, row.try_get("name").map_err(corrupt)?);
            }
        }
        Ok(out)
    }
}

pub(super) fn decode_link(row: &AnyRow) -> Result<LinkRow, String> {
    let e = |e: sqlx::Error| e.to_string();
    let kind: String = row.try_get("kind").map_err(e)?;
    Ok(LinkRow {
        key: RecordKey {
            connector: row.try_get("connector").map_err(e)?,
            kind: sql::parse_kind(&kind)?,
            external_id: row.try_get("external_id").map_err(e)?,
        },
        entity_id: row.try_get("entity_id").map_err(e)?,
        rule: row.try_get("rule").map_err(e)?,
        score: row.try_get("score").map_err(e)?,
        evidence: row.try_get("evidence").map_err(e)?,
        via: row.try_get("via").map_err(e)?,
        url: row.try_get("url").map_err(e)?,
        client_id: row.try_get("client_id").map_err(e)?,
    })
}

pub(super) fn decode_entity(row: &AnyRow) -> Result<EntityRow, String> {
    let e = |e: sqlx::Error| e.to_string();
    let kind: String = row.try_get("kind").map_err(e)?;
    Ok(EntityRow {
        id: row.try_get("id").map_err(e)?,
        kind: sql::parse_kind(&kind)?,
        name: row.try_get("name").map_err(e)?,
        owner: row.try_get("owner").map_err(e)?,
        search: row.try_get("search").map_err(e)?,
        golden: row.try_get("golden").map_err(e)?,
        provenance: row.try_get("provenance").map_err(e)?,
        sources: row.try_get("sources").map_err(e)?,
        updated_at: row.try_get("updated_at").map_err(e)?,
    })
}
