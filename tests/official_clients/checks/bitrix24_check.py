"""Bitrix24's most used Python client (`fast-bitrix24`) against the Bitrix24 simulator.

The client takes the inbound-webhook URL (it lower-cases method names and posts JSON, so
the simulated portal keeps its webhook code lower-case), pages `*.list` methods itself by
packing `start` offsets into `batch` calls (`get_all`, with `filter`s such as `@ID` and
`>ID`), and sends raw batches (`call_batch`). A wrong webhook code must be refused."""

import asyncio

from aiohttp import ClientResponseError
from fast_bitrix24 import Bitrix

from protocol import Check, failure_status

BITRIX_PAGE = 50  # the fixed page of every *.list method


def main() -> None:
    check = Check("fast-bitrix24")
    webhook = check.sim["credentials"]["webhook_url"]
    check.expect(webhook == webhook.lower(), "a lower-case webhook URL")
    bx = Bitrix(webhook, verbose=False)

    companies = bx.get_all("crm.company.list", params={"select": ["ID", "TITLE"]})
    titles = {c["ID"]: c["TITLE"] for c in companies}
    check.expect(len(titles) == len(companies) > BITRIX_PAGE,
                 f"get_all pages {len(titles)} companies past the page of {BITRIX_PAGE}")

    ids = sorted(titles, key=int)
    some = ids[:3] + ids[-3:]
    by_id = bx.get_all("crm.company.list", params={"select": ["ID", "TITLE"], "filter": {"@ID": some}})
    check.expect({c["ID"]: c["TITLE"] for c in by_id} == {i: titles[i] for i in some}, "a filter by ID list")
    newest = bx.get_all("crm.company.list", params={"select": ["ID"], "filter": {">ID": ids[-10]}})
    check.expect(sorted((c["ID"] for c in newest), key=int) == ids[-9:], "a filter by >ID")

    batch = bx.call_batch({"halt": 0, "cmd": {
        "first": "crm.company.list?order[ID]=ASC&select[]=ID&select[]=TITLE&start=0",
        "second": f"crm.company.list?order[ID]=ASC&select[]=ID&select[]=TITLE&start={BITRIX_PAGE}",
    }})
    batched = [c["ID"] for c in batch["first"] + batch["second"]]
    check.expect(batched == ids[:2 * BITRIX_PAGE], "call_batch pages with start offsets")

    tasks = bx.get_all("tasks.task.list", params={"select": ["ID", "TITLE"]})
    task_titles = {str(t["id"]): t["title"] for t in tasks}
    check.expect(len(task_titles) == len(tasks) > 0, f"get_all lists {len(tasks)} tasks")

    wrong = Bitrix(webhook.rstrip("/").rsplit("/", 1)[0] + "/wrongcode0000000/", verbose=False)
    refused = failure_status(lambda: wrong.get_all("crm.company.list"), ClientResponseError)
    check.expect(refused == 401, "401 for a wrong webhook code")
    check.report(list(titles), task_titles)


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
