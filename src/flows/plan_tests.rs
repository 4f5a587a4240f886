//! The plan as a pure function, table by table: create, update, one-way and two-way
//! target edits, each `on_conflict`, echoes, agreement, deletion, unmapped people.

use serde_json::json;

use super::*;
use crate::flows::values;

const FIELDS: [&str; 3] = ["name", "phones", "owner"];

fn flow(direction: Direction, on_conflict: OnConflict) -> Flow {
    Flow {
        name: "clients-to-portal".into(),
        kind: Kind::Client,
        from: vec!["crm".into(), "crm2".into()],
        to: "portal".into(),
        create: true,
        fields: FIELDS.iter().map(|f| f.to_string()).collect(),
        direction,
        on_conflict,
        apply: false,
        on_delete: OnDelete::Ignore,
    }
}

fn key(connector: &str, id: &str) -> RecordKey {
    RecordKey { connector: connector.into(), kind: Kind::Client, external_id: id.into() }
}

fn side(connector: &str, id: &str, updated_at: i64, data: &Value) -> Side {
    let fields: Vec<String> = FIELDS.iter().map(|f| f.to_string()).collect();
    Side {
        key: key(connector, id),
        updated_at: Some(updated_at),
        deleted: false,
        closed: false,
        values: values::read(Kind::Client, data, &fields),
    }
}

fn group(sources: Vec<Side>, targets: Vec<Side>) -> Group {
    Group {
        id: "cl-1".into(),
        label: "Romashka".into(),
        sources,
        targets,
        created: false,
        target_client: None,
        attached: false,
    }
}

/// One group, with `name` agreed at `base` between the target `portal/9` and the sources.
fn input(sources: Vec<Side>, targets: Vec<Side>, base: Option<&str>) -> PlanInput {
    let mut input = PlanInput { groups: vec![group(sources, targets)], ..PlanInput::default() };
    if let Some(base) = base {
        input.agreed.insert((key("portal", "9"), "name".into()), values::hash(&json!(base)));
    }
    input
}

/// (record written, field, before, after) of every op, in order.
fn writes(plan: &Plan) -> Vec<(String, &'static str, String, Value, Value)> {
    plan.ops
        .iter()
        .flat_map(|op| {
            let action = match op.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Archive => "archive",
            };
            let record = format!("{}/{}", op.connector, op.external_id.clone().unwrap_or_default());
            let changes = if op.changes.is_empty() {
                vec![(record.clone(), action, String::new(), Value::Null, Value::Null)]
            } else {
                op.changes
                    .iter()
                    .map(|c| (record.clone(), action, c.field.clone(), c.before.clone(), c.after.clone()))
                    .collect()
            };
            changes
        })
        .collect()
}

#[test]
fn a_client_the_target_lacks_is_created_with_every_source_field_once() {
    let source = side("crm", "1", 100, &json!({"name": "Ромашка", "phones": ["+74951234567"], "owner": "AM@x.ru"}));
    let cases = [
        // (create, already created) → expected ops
        (true, false, 1),
        (false, false, 0),
        (true, true, 0),
    ];
    for (create, created, expected) in cases {
        let mut f = flow(Direction::OneWay, OnConflict::Manual);
        f.create = create;
        let mut input = input(vec![source.clone()], Vec::new(), None);
        input.groups[0].created = created;
        input.groups[0].target_client = Some("CO_7".into());
        let plan = plan(&f, &input);
        assert_eq!(plan.ops.len(), expected, "create={create} created={created}");
        if let Some(op) = plan.ops.first() {
            assert_eq!(op.action, Action::Create);
            assert_eq!((op.connector.as_str(), op.external_id.as_deref()), ("portal", None));
            assert_eq!(op.client.as_deref(), Some("CO_7"));
            let fields: Vec<&str> = op.changes.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(fields, ["name", "owner", "phones"]);
            assert!(op.changes.iter().all(|c| c.before.is_null()));
            assert!(op.changes.iter().any(|c| c.after == json!("am@x.ru")), "owners map by lower-case e-mail");
        }
    }
}

#[test]
fn one_side_edits_follow_the_flow_direction() {
    // (direction, source name, target name) with "old" agreed → expected writes
    type Case<'a> = (Direction, &'a str, &'a str, Vec<(&'a str, &'a str, &'a str)>);
    let cases: [Case; 5] = [
        (Direction::OneWay, "new", "old", vec![("portal/9", "old", "new")]),
        (Direction::OneWay, "old", "edited", vec![]),
        (Direction::TwoWay, "old", "edited", vec![("crm/1", "old", "edited")]),
        (Direction::TwoWay, "new", "old", vec![("portal/9", "old", "new")]),
        (Direction::TwoWay, "old", "old", vec![]),
    ];
    for (direction, s, t, expected) in cases {
        let input = input(
            vec![side("crm", "1", 100, &json!({"name": s}))],
            vec![side("portal", "9", 100, &json!({"name": t}))],
            Some("old"),
        );
        let plan = plan(&flow(direction, OnConflict::Manual), &input);
        let got: Vec<(String, String, String)> = writes(&plan)
            .into_iter()
            .map(|(record, _, _, before, after)| {
                (record, before.as_str().unwrap_or("").into(), after.as_str().unwrap_or("").into())
            })
            .collect();
        let expected: Vec<(String, String, String)> =
            expected.into_iter().map(|(r, b, a)| (r.to_string(), b.to_string(), a.to_string())).collect();
        assert_eq!(got, expected, "{direction} source={s} target={t}");
        assert!(plan.conflicts.is_empty());
    }
}

#[test]
fn a_two_way_edit_in_the_target_goes_back_to_every_linked_source() {
    let input = input(
        vec![side("crm", "1", 100, &json!({"name": "old"})), side("crm2", "5", 50, &json!({"name": "old"}))],
        vec![side("portal", "9", 200, &json!({"name": "edited"}))],
        Some("old"),
    );
    let plan = plan(&flow(Direction::TwoWay, OnConflict::Manual), &input);
    let records: Vec<String> = writes(&plan).into_iter().map(|w| w.0).collect();
    assert_eq!(records, ["crm/1", "crm2/5"]);
    assert!(plan.ops.iter().all(|op| op.from == key("portal", "9")));
}

#[test]
fn a_field_changed_on_both_sides_is_settled_by_on_conflict() {
    // source edited at 200; target edited at `target_time`; both since "old" was agreed.
    let cases: [(OnConflict, Direction, i64, Option<&str>, usize); 7] = [
        (OnConflict::Source, Direction::OneWay, 100, Some("portal/9"), 0),
        (OnConflict::Target, Direction::TwoWay, 100, Some("crm/1"), 0),
        (OnConflict::Target, Direction::OneWay, 100, None, 0),
        (OnConflict::MostRecent, Direction::TwoWay, 100, Some("portal/9"), 0),
        (OnConflict::MostRecent, Direction::TwoWay, 300, Some("crm/1"), 0),
        (OnConflict::Manual, Direction::TwoWay, 300, None, 1),
        (OnConflict::Manual, Direction::OneWay, 100, None, 1),
    ];
    for (on_conflict, direction, target_time, written, conflicts) in cases {
        let input = input(
            vec![side("crm", "1", 200, &json!({"name": "by source"}))],
            vec![side("portal", "9", target_time, &json!({"name": "by target"}))],
            Some("old"),
        );
        let plan = plan(&flow(direction, on_conflict), &input);
        let records: Vec<String> = writes(&plan).into_iter().map(|w| w.0).collect();
        assert_eq!(
            records,
            written.into_iter().map(str::to_string).collect::<Vec<_>>(),
            "{on_conflict} {direction} {target_time}"
        );
        assert_eq!(plan.conflicts.len(), conflicts, "{on_conflict} {direction}");
        if let Some(c) = plan.conflicts.first() {
            assert_eq!(
                (c.field.as_str(), &c.source_value, &c.target_value),
                ("name", &json!("by source"), &json!("by target"))
            );
            assert_eq!(c.base, Some(values::hash(&json!("old"))));
        }
    }
}

#[test]
fn never_agreed_values_conflict_but_an_empty_side_is_filled() {
    let differing = input(
        vec![side("crm", "1", 200, &json!({"name": "A", "phones": ["+74951234567"]}))],
        vec![side("portal", "9", 100, &json!({"name": "B"}))],
        None,
    );
    let plan = plan(&flow(Direction::OneWay, OnConflict::Manual), &differing);
    assert_eq!(plan.conflicts.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["name"]);
    let filled: Vec<_> = writes(&plan).into_iter().map(|w| w.2).collect();
    assert_eq!(filled, ["phones"], "the target had no phone: nothing is overwritten by filling it");
}

#[test]
fn the_echo_of_zveno_s_own_write_is_not_an_edit() {
    // The target reads back "ООО Ромашка" for what zveno wrote; the base is the source's value.
    let mut input = input(
        vec![side("crm", "1", 100, &json!({"name": "Ромашка"}))],
        vec![side("portal", "9", 300, &json!({"name": "ООО Ромашка"}))],
        Some("Ромашка"),
    );
    input.ledger.insert((key("portal", "9"), "name".into()), written("ООО Ромашка", "Ромашка"));
    for on_conflict in OnConflict::ALL {
        let plan = plan(&flow(Direction::TwoWay, *on_conflict), &input);
        assert!(plan.ops.is_empty() && plan.conflicts.is_empty(), "{on_conflict}: {plan:?}");
    }
    // A later real edit in the target is seen again.
    input.groups[0].targets[0].values.insert("name".into(), json!("Ромашка Плюс"));
    let plan = plan(&flow(Direction::TwoWay, OnConflict::Manual), &input);
    assert_eq!(writes(&plan).into_iter().map(|w| w.0).collect::<Vec<_>>(), ["crm/1"]);
}

/// The ledger row of a write that sent `sent` and read back `held`.
fn written(held: &str, sent: &str) -> Written {
    Written { hash: values::hash(&json!(held)), sent: Some(values::hash(&json!(sent))) }
}

#[test]
fn a_value_zveno_once_wrote_set_again_by_a_person_after_the_base_moved_on_is_an_edit() {
    // zveno once wrote "done" into the source (a two-way write-back); since then the base
    // moved to "todo" (a later edit, written to the target). A person now sets "done"
    // again in the source: an edit, not the old write's echo.
    let mut input = input(
        vec![side("crm", "1", 300, &json!({"name": "done"}))],
        vec![side("portal", "9", 100, &json!({"name": "todo"}))],
        Some("todo"),
    );
    let cases = [
        // (ledger row of crm/1: held, sent) → the source's value goes to the target
        (written("done", "done"), true),
        // The base is still the value that write sent: its read-back is an echo.
        (written("done", "todo"), false),
    ];
    for (row, edit) in cases {
        input.ledger.insert((key("crm", "1"), "name".into()), row.clone());
        let plan = plan(&flow(Direction::TwoWay, OnConflict::Manual), &input);
        let expected: Vec<_> =
            if edit { vec![("portal/9".to_string(), json!("todo"), json!("done"))] } else { Vec::new() };
        let got: Vec<_> = writes(&plan).into_iter().map(|w| (w.0, w.3, w.4)).collect();
        assert_eq!(got, expected, "{row:?}");
        assert!(plan.conflicts.is_empty(), "{plan:?}");
    }
}

#[test]
fn values_found_alike_move_the_agreed_base_and_write_nothing() {
    let mut input = input(
        vec![side("crm", "1", 100, &json!({"name": "X", "phones": ["+2", "+1"]}))],
        vec![side("portal", "9", 100, &json!({"name": "X", "phones": ["+1", "+2", "+1"]}))],
        Some("X"),
    );
    let first = plan(&flow(Direction::OneWay, OnConflict::Manual), &input);
    assert!(first.ops.is_empty());
    let moved: Vec<&str> = first.agreements.iter().map(|a| a.field.as_str()).collect();
    assert_eq!(moved, ["phones", "owner"], "name was agreed already");
    for a in &first.agreements {
        input.agreed.insert((a.target.clone(), a.field.clone()), a.hash.clone());
    }
    let second = plan(&flow(Direction::OneWay, OnConflict::Manual), &input);
    assert!(second.ops.is_empty() && second.agreements.is_empty(), "{second:?}");
}

#[test]
fn owners_map_by_e_mail_and_an_unmapped_one_is_reported_per_record() {
    let cases = [
        // (source owner, portal users) → owner written?
        ("am@x.ru", None, true),
        ("am@x.ru", Some(vec!["am@x.ru"]), true),
        ("am@x.ru", Some(vec!["other@x.ru"]), false),
        ("31337", None, false),
    ];
    for (owner, users, written) in cases {
        let mut input = input(
            vec![side("crm", "1", 200, &json!({"name": "X", "owner": owner}))],
            vec![side("portal", "9", 100, &json!({"name": "X"}))],
            Some("X"),
        );
        if let Some(users) = users.clone() {
            input.users.insert("portal".into(), users.into_iter().map(str::to_string).collect());
        }
        let plan = plan(&flow(Direction::OneWay, OnConflict::Manual), &input);
        let owners: Vec<String> = writes(&plan).into_iter().filter(|w| w.2 == "owner").map(|w| w.0).collect();
        assert_eq!(!owners.is_empty(), written, "{owner} {users:?}");
        if written {
            assert!(plan.unmapped.is_empty());
        } else {
            assert_eq!(plan.unmapped.len(), 1, "{owner} {users:?}");
            let u = &plan.unmapped[0];
            assert_eq!(
                (u.record.as_ref(), u.field.as_str(), u.value.as_str()),
                (Some(&key("portal", "9")), "owner", owner)
            );
        }
    }
}

#[test]
fn a_deleted_source_archives_its_copy_only_when_the_flow_says_so() {
    for (on_delete, archived) in [(OnDelete::Ignore, 0), (OnDelete::Archive, 1)] {
        let mut gone = side("crm", "1", 100, &json!({}));
        gone.deleted = true;
        let mut f = flow(Direction::OneWay, OnConflict::Manual);
        f.on_delete = on_delete;
        let plan = plan(&f, &input(vec![gone], vec![side("portal", "9", 100, &json!({"name": "X"}))], None));
        assert_eq!(plan.ops.iter().filter(|op| op.action == Action::Archive).count(), archived, "{on_delete}");
        assert_eq!(plan.ops.len(), archived);
    }
    let mut gone = side("crm", "1", 100, &json!({}));
    gone.deleted = true;
    let mut closed = side("portal", "9", 100, &json!({"name": "X"}));
    closed.closed = true;
    let mut f = flow(Direction::OneWay, OnConflict::Manual);
    f.on_delete = OnDelete::Archive;
    assert!(plan(&f, &input(vec![gone], vec![closed], None)).ops.is_empty(), "a closed copy is archived already");
}

#[test]
fn a_copy_deleted_in_the_target_is_not_created_again() {
    let mut deleted = side("portal", "9", 100, &json!({}));
    deleted.deleted = true;
    let plan = plan(
        &flow(Direction::OneWay, OnConflict::Manual),
        &input(vec![side("crm", "1", 100, &json!({"name": "X"}))], vec![deleted], None),
    );
    assert!(plan.ops.is_empty());
}

#[test]
fn the_same_input_plans_the_same_op_ids() {
    let make = |name: &str| {
        input(
            vec![side("crm", "1", 200, &json!({"name": name}))],
            vec![side("portal", "9", 100, &json!({"name": "old"}))],
            Some("old"),
        )
    };
    let f = flow(Direction::OneWay, OnConflict::Manual);
    let (a, b, c) = (plan(&f, &make("new")), plan(&f, &make("new")), plan(&f, &make("newer")));
    assert_eq!(a.ops[0].op_id, b.ops[0].op_id);
    assert_ne!(a.ops[0].op_id, c.ops[0].op_id, "a different value is a different op");
    let create = |name: &str| plan(&f, &input(vec![side("crm", "1", 200, &json!({"name": name}))], Vec::new(), None));
    assert_eq!(create("A").ops[0].op_id, create("B").ops[0].op_id, "one create per group, whatever it carries");
}

/// A person making the same change again later (a status set back and forth between two
/// applies) plans the same values from a newer version of the source: a new op, sent again,
/// never skipped as one already done; the same version planned again stays the same op.
#[test]
fn the_same_change_made_again_later_is_a_new_op() {
    let at = |updated_at: i64| {
        input(
            vec![side("crm", "1", updated_at, &json!({"name": "new"}))],
            vec![side("portal", "9", 100, &json!({"name": "old"}))],
            Some("old"),
        )
    };
    let f = flow(Direction::OneWay, OnConflict::Manual);
    let (first, again, later) = (plan(&f, &at(200)), plan(&f, &at(200)), plan(&f, &at(300)));
    assert_eq!(first.ops[0].op_id, again.ops[0].op_id, "a retry of the same version is the same op");
    assert_ne!(first.ops[0].op_id, later.ops[0].op_id, "the change made again is a new op");
}

#[test]
fn a_copy_made_before_its_clients_copy_is_attached_once_by_an_update_of_its_own() {
    let data = json!({"name": "Ромашка"});
    let f = flow(Direction::TwoWay, OnConflict::Manual);
    let mut input = input(vec![side("crm", "1", 100, &data)], vec![side("portal", "9", 100, &data)], None);
    input.groups[0].target_client = Some("CO_7".into());
    let plan = plan(&f, &input);
    assert_eq!(writes(&plan), [("portal/9".to_string(), "update", String::new(), Value::Null, Value::Null)]);
    assert_eq!(plan.ops[0].client.as_deref(), Some("CO_7"));
    let again = super::plan(&f, &input);
    assert_eq!(again.ops[0].op_id, plan.ops[0].op_id, "planned again: the same op");
    input.groups[0].target_client = Some("CO_8".into());
    assert_ne!(super::plan(&f, &input).ops[0].op_id, plan.ops[0].op_id, "another client: another op");

    input.groups[0].attached = true;
    assert!(super::plan(&f, &input).ops.is_empty(), "attached: nothing to write");
    input.groups[0].attached = false;
    input.groups[0].target_client = None;
    assert!(super::plan(&f, &input).ops.is_empty(), "no client copy: nothing to attach");
}
