"""Fidelity check: drive the Salesforce emulator with the official simple-salesforce client.

Usage: python simple_salesforce_check.py INSTANCE_URL ACCESS_TOKEN CA_PEM

Connects in direct session mode (instance_url + session_id) over HTTPS, trusting the
emulator's CA, and exercises describe, query / query_all / query_more paging, CRUD,
upsert by external id, error mapping, limits and API usage, sObject Collections through
`restful`, and Bulk API 2.0 query and ingest. Exits non-zero on the first mismatch.
"""

import csv
import io
import sys

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def main():
    instance_url, token, ca = sys.argv[1:4]
    session = requests.Session()
    session.verify = ca
    # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment would override `verify`.
    session.trust_env = False
    sf = Salesforce(instance_url=instance_url, session_id=token, version="62.0", session=session)
    check(sf.base_url.startswith("https://localhost:"), "HTTPS base URL with the emulator port")

    # Describe
    glob = sf.describe()
    names = {o["name"] for o in glob["sobjects"]}
    check({"Account", "Contact", "Opportunity", "ContentVersion", "Project__c"} <= names, "describeGlobal lists the objects")
    d = sf.Contact.describe()
    fields = {f["name"]: f for f in d["fields"]}
    check(fields["AccountId"]["referenceTo"] == ["Account"], "describe: AccountId references Account")
    check(fields["Name"]["createable"] is False, "describe: compound Name is read-only")

    # Query paging
    count = sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    small_pages = {"Sforce-Query-Options": "batchSize=200"}
    everything = sf.query_all("SELECT Id, Name, Account.Name FROM Contact", headers=small_pages)
    ids = [r["Id"] for r in everything["records"]]
    check(len(ids) == count == everything["totalSize"], f"query_all follows nextRecordsUrl ({count} rows)")
    check(len(set(ids)) == len(ids), "query_all returns each row once")
    page = sf.query("SELECT Id FROM Task", headers=small_pages)
    pages, seen = 1, len(page["records"])
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=small_pages)
        pages += 1
        seen += len(page["records"])
    check(seen == page["totalSize"] and pages > 1, f"query_more pages through {pages} pages")
    iterated = sum(1 for _ in sf.query_all_iter("SELECT Id FROM Case"))
    check(iterated == sf.query("SELECT COUNT() FROM Case")["totalSize"], "query_all_iter")

    # CRUD
    created = sf.Account.create({"Name": "SDK Check Ltd", "Industry": "Banking"})
    check(created["success"] and created["id"].startswith("001"), "create")
    acc_id = created["id"]
    check(sf.Account.get(acc_id)["Name"] == "SDK Check Ltd", "get")
    check(sf.Account.update(acc_id, {"Industry": "Energy"}) == 204, "update returns 204")
    check(sf.Account.get(acc_id)["Industry"] == "Energy", "update applied")
    check(sf.Account.delete(acc_id) == 204, "delete returns 204")
    gone = sf.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{acc_id}'", include_deleted=True)
    check(gone["records"][0]["IsDeleted"] is True, "deleted row visible to queryAll")
    try:
        sf.Account.get(acc_id)
        check(False, "get of a deleted record fails")
    except SalesforceResourceNotFound:
        check(True, "get of a deleted record raises SalesforceResourceNotFound")
    up = sf.Account.upsert("Legacy_Id__c/SDK-CHECK-1", {"Name": "Upserted Ltd"})
    check(up == 201, "upsert by external id creates")
    check(sf.Account.upsert("Legacy_Id__c/SDK-CHECK-1", {"Name": "Upserted Again"}) == 200, "upsert by external id updates")

    # Errors
    try:
        sf.query("SELECT Nope FROM Account")
        check(False, "bad field fails")
    except SalesforceMalformedRequest as e:
        check(e.content[0]["errorCode"] == "INVALID_FIELD", "INVALID_FIELD mapped to SalesforceMalformedRequest")

    # Limits
    limits = sf.limits()
    check("DailyApiRequests" in limits, "limits")
    check(sf.api_usage.get("api-usage") is not None, "Sforce-Limit-Info parsed into api_usage")

    # Collections through restful
    res = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "Collection", "Email": "c@sdk.example.com"},
            {"attributes": {"type": "Contact"}, "FirstName": "Missing"},
        ]},
    )
    check(res[0]["success"] and not res[1]["success"], "collections per-item results")
    check(res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING", "collections statusCode")

    # Bulk API 2.0 query
    rows = 0
    for chunk in sf.bulk2.Contact.query("SELECT Id, LastName FROM Contact", max_records=300):
        rows += sum(1 for _ in csv.DictReader(io.StringIO(chunk)))
    check(rows == sf.query("SELECT COUNT() FROM Contact")["totalSize"], f"bulk2 query returns every row ({rows})")

    # Bulk API 2.0 ingest
    results = sf.bulk2.Contact.insert(records=[
        {"LastName": "Bulk One", "Email": "one@sdk.example.com"},
        {"LastName": "Bulk Two", "Email": "two@sdk.example.com"},
        {"FirstName": "No Last Name", "Email": "bad@sdk.example.com"},
    ])
    check(results[0]["numberRecordsProcessed"] == 3, "bulk2 insert processed 3")
    check(results[0]["numberRecordsFailed"] == 1, "bulk2 insert failed 1")
    job = results[0]["job_id"]
    ok_csv = sf.bulk2.Contact.get_successful_records(job)
    check(ok_csv.splitlines()[0].startswith('"sf__Id","sf__Created"'), "bulk2 successful results")
    bad_csv = sf.bulk2.Contact.get_failed_records(job)
    check("REQUIRED_FIELD_MISSING" in bad_csv, "bulk2 failed results")
    print("all simple-salesforce checks passed")


if __name__ == "__main__":
    main()
