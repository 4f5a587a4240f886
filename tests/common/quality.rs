//! The ground truth of zveno's own generated world in the form the labelled evaluation
//! worlds use (`"vendor:id"` → true company), so `zveno::resolve::eval` scores both alike.

use zveno::resolve::eval::Truth;
use zveno_connector::Kind;
use zveno_sim::world::World;

use super::vendor_adapter::{external_id, CONNECTORS};

/// `world`'s truth about the systems the adapter maps (connectors named after them).
pub fn truth(world: &World) -> Truth {
    let connector_of = |system| CONNECTORS.iter().find(|(_, s)| *s == system).map(|(c, _)| *c);
    let company = |c: usize| format!("C{c:05}");
    let mut truth = Truth::default();
    for ((system, id), client) in &world.truth.companies {
        if let Some(c) = connector_of(*system) {
            truth.records.insert(format!("{c}:{}", external_id(*system, Kind::Client, *id)), company(*client));
        }
    }
    for ((system, id), client) in &world.truth.tasks {
        if let Some(c) = connector_of(*system) {
            truth.tasks.insert(format!("{c}:{}", external_id(*system, Kind::Task, *id)), client.map(company));
        }
    }
    for (c, client) in world.clients.iter().enumerate() {
        if let Some(original) = client.decoy_of {
            truth.decoy_pairs.push((company(original), company(c)));
        }
    }
    truth
}
