// Pipedrive's official Node.js client (`pipedrive` on npm) against the Pipedrive simulator.
//
// Speaks protocol.py's protocol: the simulator's entry of simulators.json on stdin, one JSON
// report on stdout. The client's v2 API lists organizations page by page (`limit`, opaque
// `cursor`), filters by `ids` and `updated_since`, reads one by id, lists activities for
// their subjects; its v1 API lists the users. A wrong token must give the 401 body and an
// unknown id the 404 body (the client rejects with the response body, not the status).
// run.sh installs the pinned client under ZVENO_NODE_MODULES.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const prefix = process.env.ZVENO_NODE_MODULES;
const require = createRequire(prefix ? `${prefix.replace(/\/$/, "")}/` : import.meta.url);
const pipedrive = require("pipedrive");
// The package exports no `./package.json`: read it next to the entry point (dist/index.js).
const manifest = join(dirname(require.resolve("pipedrive")), "..", "package.json");
const version = JSON.parse(readFileSync(manifest, "utf8")).version;
const { v1, v2 } = pipedrive;

const PAGE = 40; // small pages, so the world's organizations span several
const sim = JSON.parse(readFileSync(0, "utf8"));
const library = `pipedrive ${version}`;
const checked = [];

function expect(condition, what) {
  if (!condition) {
    throw new Error(`${library} against ${sim.url}: expected ${what}`);
  }
  if (!checked.includes(what)) checked.push(what);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The demo keeps its connector's burst window busy: wait out 429s as Pipedrive advises
// (the client rejects with the body, which names the limit).
async function call(fn) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const limited = e && e.success === false && /limit/i.test(String(e.error));
      if (!limited || attempt >= 5) throw e;
      await sleep(2000);
    }
  }
}

async function rejection(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return e;
  }
}

const v2config = (apiKey) => new v2.Configuration({ apiKey, basePath: `${sim.url}/api/v2` });
const token = sim.credentials.token;
const organizations = new v2.OrganizationsApi(v2config(token));
const activities = new v2.ActivitiesApi(v2config(token));

async function listAll(api, method, params) {
  const all = [];
  let cursor;
  let pages = 0;
  do {
    const page = await call(() => api[method]({ ...params, limit: PAGE, cursor }));
    expect(page.success === true && Array.isArray(page.data), `${method} answers {success, data}`);
    all.push(...page.data);
    pages += 1;
    cursor = page.additional_data?.next_cursor ?? undefined;
  } while (cursor);
  return { all, pages };
}

const { all: orgs, pages } = await listAll(organizations, "getOrganizations", { sort_by: "id", sort_direction: "asc" });
expect(pages > 1, `${orgs.length} organizations over ${pages} pages of ${PAGE}`);
const ids = orgs.map((o) => o.id);
expect(ids.every((id, i) => i === 0 || ids[i - 1] < id), "sort_by=id pages in ascending id order");

const first = orgs[0];
const one = await call(() => organizations.getOrganization({ id: first.id }));
expect(one.data.id === first.id && one.data.name === first.name, `getOrganization(${first.id}) reads the listed name`);
const some = ids.slice(0, 3);
const byIds = await call(() => organizations.getOrganizations({ ids: some.join(",") }));
expect(
  JSON.stringify(byIds.data.map((o) => o.id).sort((a, b) => a - b)) === JSON.stringify(some),
  "ids= returns exactly the organizations asked for",
);
const newest = orgs.map((o) => o.update_time).sort().at(-1);
const recent = await call(() => organizations.getOrganizations({ updated_since: newest, sort_by: "update_time" }));
expect(
  recent.data.length >= 1 && recent.data.every((o) => o.update_time >= newest),
  "updated_since returns only what changed since (inclusive)",
);

const { all: acts } = await listAll(activities, "getActivities", {});
const users = await call(() => new v1.UsersApi(new v1.Configuration({ apiKey: token, basePath: `${sim.url}/v1` })).getUsers());
expect(users.success === true && users.data.length > 0 && users.data.every((u) => u.email), "v1 getUsers lists the users");

const wrong = await rejection(() => new v2.OrganizationsApi(v2config("0".repeat(40))).getOrganizations({ limit: 1 }));
expect(wrong && wrong.errorCode === 401 && wrong.success === false, "a wrong token gets the 401 body");
const missing = await rejection(() => call(() => organizations.getOrganization({ id: 999999999 })));
expect(missing && missing.success === false && /not found/i.test(missing.error), "an unknown id gets the 404 body");

const clients = orgs.map((o) => String(o.id));
expect(clients.length === new Set(clients).size, "every client listed once");
const tasks = Object.fromEntries(acts.map((a) => [String(a.id), a.subject]));
process.stdout.write(JSON.stringify({ library, clients, tasks, checked }));
