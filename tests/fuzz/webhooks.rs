//! Each vendor's webhook handling as the daemon's receiver drives it (`src/webhooks` hands
//! the raw delivery to the connector, which verifies and then parses it): verification
//! over mutated signature, timestamp and credential headers, and parsing of mutated
//! bodies. Most deliveries carry a correct signature over their (mutated) body, so the
//! parser behind the check is reached. Accepted means a hint came out.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use zveno_connector::webhook::hmac_sha256;
use zveno_connector::{Kind, Secret, WebhookRequest};

use super::{fuzz, mutate, seeds};

const URL: &str = "https://zveno.example/webhooks/crm";
const SECRET: &str = "fuzz-webhook-secret";

fn request(headers: Vec<(String, String)>, body: Vec<u8>) -> WebhookRequest {
    WebhookRequest { method: "POST".into(), url: URL.into(), headers, body: body.into() }
}

/// `right` three times in four, else a nasty text: most deliveries pass the check.
fn mostly(rng: &mut StdRng, right: String) -> String {
    if rng.gen_range(0..4) == 0 {
        mutate::nasty_text(rng).to_string()
    } else {
        right
    }
}

/// The kinds a connector syncs: all, or a random subset.
fn kinds(rng: &mut StdRng) -> Vec<Kind> {
    if rng.gen() {
        Kind::ALL.to_vec()
    } else {
        Kind::ALL.into_iter().filter(|_| rng.gen()).collect()
    }
}

#[test]
fn hubspot_webhooks_never_panic_on_mutated_deliveries() {
    use zveno_hubspot::webhook::{parse, verify_signature, SIGNATURE, TIMESTAMP};

    let now = DateTime::<Utc>::from_timestamp_millis(1_764_000_000_000).unwrap();
    let seed = seeds::hubspot_delivery();
    let mut names = Vec::new();
    mutate::keys(&seed, &mut names);
    fuzz(
        "hubspot webhooks",
        201,
        0.15,
        |rng| {
            let body = mutate::json_case(rng, &seed, &names);
            let ts = mostly(rng, now.timestamp_millis().to_string());
            let mac = hmac_sha256(SECRET.as_bytes(), &[b"POST", URL.as_bytes(), &body, ts.as_bytes()]);
            let signature = mostly(rng, BASE64.encode(mac));
            (request(vec![(SIGNATURE.to_lowercase(), signature), (TIMESTAMP.to_lowercase(), ts)], body), kinds(rng))
        },
        |(delivery, kinds)| {
            let _ = verify_signature(delivery, &Secret::new(SECRET), now);
            parse(&delivery.body, kinds).is_ok_and(|hints| !hints.is_empty())
        },
    );
}

#[test]
fn jira_webhooks_never_panic_on_mutated_deliveries() {
    use zveno_jira::webhook::{parse, verify_signature, IDENTIFIER, SIGNATURE};

    let seed = seeds::jira_delivery();
    let mut names = Vec::new();
    mutate::keys(&seed, &mut names);
    fuzz(
        "jira webhooks",
        202,
        0.15,
        |rng| {
            let body = mutate::json_case(rng, &seed, &names);
            let signature = format!("sha256={}", hex::encode(hmac_sha256(SECRET.as_bytes(), &[&body])));
            let headers = vec![
                (SIGNATURE.to_lowercase(), mostly(rng, signature)),
                (IDENTIFIER.to_lowercase(), mostly(rng, "d-17".into())),
            ];
            request(headers, body)
        },
        |delivery| {
            let _ = verify_signature(delivery, &Secret::new(SECRET));
            parse(delivery).is_ok_and(|hints| !hints.is_empty())
        },
    );
}

/// Bytes that matter to a form body.
const FORM_BYTES: &[u8] = b"&=%[]+0123456789abcABC\xff\xd0";

#[test]
fn bitrix24_webhooks_never_panic_on_mutated_events() {
    use zveno_bitrix24::webhook::parse;

    let events = seeds::bitrix24_events();
    let keys: Vec<&str> = events.iter().flatten().map(|(k, _)| *k).collect();
    fuzz(
        "bitrix24 webhooks",
        203,
        0.15,
        |rng| {
            let mut pairs: Vec<(String, String)> =
                events[rng.gen_range(0..events.len())].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            // Form fields edited as fields: a value replaced, a field dropped, repeated or
            // renamed to another field of the vendor's.
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..pairs.len());
                match rng.gen_range(0..4) {
                    0 => pairs[at].1 = mutate::nasty_text(rng).to_string(),
                    1 if pairs.len() > 1 => {
                        pairs.remove(at);
                    }
                    2 => pairs.insert(at, pairs[at].clone()),
                    _ => pairs[at].0 = keys[rng.gen_range(0..keys.len())].to_string(),
                }
            }
            let mut body =
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish().into_bytes();
            if rng.gen_range(0..4) == 0 {
                mutate::bytes(rng, &mut body, FORM_BYTES);
            }
            let content_type = ("content-type".to_string(), "application/x-www-form-urlencoded".to_string());
            (request(vec![content_type], body), kinds(rng))
        },
        |(delivery, kinds)| {
            parse(delivery, &Secret::new(seeds::BITRIX24_TOKEN), kinds).is_ok_and(|hints| !hints.is_empty())
        },
    );
}

#[test]
fn pipedrive_webhooks_never_panic_on_mutated_deliveries() {
    use zveno_pipedrive::webhook::{parse, verify_credentials};

    let deliveries = seeds::pipedrive_deliveries();
    let mut names = Vec::new();
    deliveries.iter().for_each(|d| mutate::keys(d, &mut names));
    fuzz(
        "pipedrive webhooks",
        204,
        0.15,
        |rng| {
            let seed = &deliveries[rng.gen_range(0..deliveries.len())];
            let body = mutate::json_case(rng, seed, &names);
            let credentials = mostly(rng, format!("Basic {}", BASE64.encode(SECRET)));
            (request(vec![("authorization".into(), credentials)], body), kinds(rng))
        },
        |(delivery, kinds)| {
            let _ = verify_credentials(delivery, &Secret::new(SECRET));
            parse(&delivery.body, kinds).is_ok_and(|hints| !hints.is_empty())
        },
    );
}
