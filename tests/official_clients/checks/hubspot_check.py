"""HubSpot's official Python SDK (`hubspot-api-client`) against the HubSpot simulator.

The SDK's host setting points it at the simulator; the token is the demo's private-app
token. Companies are listed page by page (`after` cursors), in full with `get_all`, read by
id, and searched (a filter, and paging through every result); tasks are listed for their
subjects. A wrong token must give 401 and an unknown id 404, as HubSpot answers."""

from hubspot import HubSpot
from hubspot.crm.companies import ApiException, PublicObjectSearchRequest
from urllib3.util.retry import Retry

from protocol import Check, failure_status

PAGE = 25  # small pages, so the world's companies span several


def client(check: Check, token: str) -> HubSpot:
    # HubSpot's own advice for its SDK: retry 429s (the demo keeps syncing meanwhile).
    retry = Retry(total=5, status_forcelist=(429,), allowed_methods=None, backoff_factor=0.5)
    return HubSpot(access_token=token, host=check.sim["url"], retry=retry)


def main() -> None:
    check = Check("hubspot-api-client")
    hs = client(check, check.sim["credentials"]["token"])
    companies = hs.crm.companies

    names: dict[str, str] = {}
    after, pages = None, 0
    while True:
        page = companies.basic_api.get_page(limit=PAGE, after=after, properties=["name", "domain"])
        pages += 1
        check.expect(len(page.results) <= PAGE, f"pages of at most {PAGE}")
        for company in page.results:
            names[company.id] = company.properties.get("name")
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    check.expect(pages > 1, f"{len(names)} companies over {pages} pages of {PAGE}")
    everything = companies.get_all(properties=["name"])
    check.expect(sorted(c.id for c in everything) == sorted(names), "get_all lists the same companies")

    first, last = min(names, key=int), max(names, key=int)
    for company_id in (first, last):
        one = companies.basic_api.get_by_id(company_id, properties=["name"])
        check.expect(one.id == company_id and one.properties.get("name") == names[company_id],
                     f"get_by_id({company_id}) reads the listed name")

    by_name = companies.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "name", "operator": "EQ", "value": names[first]}]}],
        properties=["name"], limit=10))
    check.expect(first in [r.id for r in by_name.results], "search by name finds the company")
    found, after = [], None
    while True:
        result = companies.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(
            properties=["name"], limit=40, after=after))
        found += [r.id for r in result.results]
        if result.paging is None or result.paging.next is None:
            break
        after = result.paging.next.after
    check.expect(result.total == len(names) and sorted(found) == sorted(names),
                 f"search pages through all {result.total} companies")

    missing = failure_status(lambda: companies.basic_api.get_by_id("999999999"), ApiException)
    check.expect(missing == 404, "404 for an unknown id")
    wrong = client(check, "pat-na1-00000000-0000-0000-0000-000000000000")
    refused = failure_status(lambda: wrong.crm.companies.basic_api.get_page(limit=1), ApiException)
    check.expect(refused == 401, "401 for a wrong token")

    tasks = hs.crm.objects.get_all("tasks", properties=["hs_task_subject"])
    check.report(list(names), {t.id: t.properties.get("hs_task_subject") for t in tasks})


if __name__ == "__main__":
    main()
