"""Jira's Python client (`jira`, pycontribs) against the Jira simulator.

The client speaks REST v2: it starts with `serverInfo` (which must say Cloud, or it would
page with the removed offset search), translates field names through `field`, pages
`search/jql` by `nextPageToken` (GET, and POST when asked), and reads issues by key.
Issues are listed with the JQL zveno's connector is configured with; a wrong token must
give 401 and an unknown key 404."""

from jira import JIRA, JIRAError

from protocol import Check, failure_status

PAGE = 40  # smaller than the world's issue count, so manual paging spans several pages


def main() -> None:
    check = Check("jira")
    url, options, token = check.sim["url"], check.sim["options"], check.sim["credentials"]["token"]
    jira = JIRA(server=url, basic_auth=(options["email"], token), max_retries=2)
    check.expect(jira.server_info().get("deploymentType") == "Cloud", "serverInfo says Cloud")
    check.expect(jira.myself().get("emailAddress") == options["email"], "myself is the token's user")
    client_field = options["client_field"]
    names = {f["id"]: f["name"] for f in jira.fields()}
    check.expect(client_field in names and "summary" in names, "field lists summary and the client field")

    # fields by name: the client translates "Client" (the custom field's name) into its id.
    issues = jira.search_issues(options["jql"], maxResults=False, fields=["summary", "status", names[client_field]])
    summaries = {i.id: i.fields.summary for i in issues}
    check.expect(len(summaries) == len(issues) > 0, f"{len(issues)} issues, each once")
    named = [i for i in issues if i.raw["fields"].get(names[client_field]) is not None]
    check.expect(len(named) > 0, f"the client field read by its name on {len(named)} issues")

    seen, token_, pages = [], None, 0
    while True:
        page = jira.enhanced_search_issues(options["jql"], nextPageToken=token_, maxResults=PAGE, fields=["summary"],
                                           use_post=True)
        seen += [i.id for i in page]
        pages += 1
        token_ = page.nextPageToken
        if not token_:
            break
    check.expect(sorted(seen) == sorted(summaries) and pages > 1,
                 f"POST search/jql pages through the same issues ({pages} pages of {PAGE})")

    first = issues[0]
    one = jira.issue(first.key)
    check.expect(one.id == first.id and one.fields.summary == first.fields.summary, f"issue({first.key}) reads it")
    described = [i for i in jira.search_issues(options["jql"], maxResults=False, fields="description")
                 if i.fields.description]
    check.expect(len(described) > 0 and all(isinstance(i.fields.description, str) for i in described),
                 "descriptions are v2 plain text")

    missing = failure_status(lambda: jira.issue("OPS-999999"), JIRAError, "status_code")
    check.expect(missing == 404, "404 for an unknown key")

    def wrong_token():
        return JIRA(server=url, basic_auth=(options["email"], "wrong-token"), max_retries=0).myself()

    check.expect(failure_status(wrong_token, JIRAError, "status_code") == 401, "401 for a wrong token")
    check.report([], summaries)


if __name__ == "__main__":
    main()
