"""Drive the official `dropbox` Python SDK, unmodified, against `cairn emulate dropbox --tls`.

The SDK reads its hosts from the environment at import time, so the caller sets
DROPBOX_API_HOST / DROPBOX_API_CONTENT_HOST / DROPBOX_API_NOTIFY_HOST / DROPBOX_WEB_HOST to
the emulator's host:port before running this script. Emulator details come from:

  EMU_CA           path of the emulator's CA certificate (PEM)
  EMU_TOKEN        the long-lived team token printed as `access-token:`
  EMU_APP_KEY      the app key printed on the `client:` line
  EMU_APP_SECRET   the app secret printed on the `client:` line
  EMU_ADMIN_EMAIL  the admin e-mail printed on the `user:` line
  EMU_ADMIN_PASS   the admin password printed on the `user:` line

Every check raises on failure; the script prints one line per check and exits 0 only if all
pass.
"""

import hashlib
import json
import os
import re
import sys
import time

import requests

import dropbox
from dropbox import files as dbx_files
from dropbox import common as dbx_common
from dropbox import team as dbx_team
from dropbox.exceptions import ApiError

CA = os.environ["EMU_CA"]
TOKEN = os.environ["EMU_TOKEN"]
APP_KEY = os.environ["EMU_APP_KEY"]
APP_SECRET = os.environ["EMU_APP_SECRET"]
ADMIN_EMAIL = os.environ["EMU_ADMIN_EMAIL"]
ADMIN_PASS = os.environ["EMU_ADMIN_PASS"]
HOST = os.environ["DROPBOX_API_HOST"]
CONTROL = "https://%s/__emulator" % HOST

session = requests.Session()
session.verify = CA
session.trust_env = False

PASSED = []


def check(name):
    def wrap(fn):
        fn()
        PASSED.append(name)
        print("ok  %s" % name, flush=True)
        return fn

    return wrap


def control(method, path, body=None):
    r = session.request(method, CONTROL + path, json=body)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def content_hash(data):
    blocks = [hashlib.sha256(data[i : i + (4 << 20)]).digest() for i in range(0, len(data), 4 << 20)]
    return hashlib.sha256(b"".join(blocks)).hexdigest()


team = dropbox.DropboxTeam(oauth2_access_token=TOKEN, ca_certs=CA)
state = {}


@check("team/get_info, features/get_values, token/get_authenticated_admin")
def _():
    info = team.team_get_info()
    assert info.team_id.startswith("dbtid:"), info.team_id
    assert info.num_provisioned_users > 0
    values = team.team_features_get_values(
        [dbx_team.Feature.upload_api_rate_limit, dbx_team.Feature.has_team_shared_dropbox,
         dbx_team.Feature.has_distinct_member_homes]
    ).values
    assert len(values) == 3 and values[0].is_upload_api_rate_limit()
    admin = team.team_token_get_authenticated_admin().admin_profile
    assert admin.email == ADMIN_EMAIL
    state["admin"] = admin.team_member_id


@check("team/members/list_v2 + continue_v2")
def _():
    page = team.team_members_list_v2(limit=3)
    members = list(page.members)
    pages = 1
    while page.has_more:
        page = team.team_members_list_continue_v2(page.cursor)
        members.extend(page.members)
        pages += 1
    assert pages > 1, "a limit of 3 must page"
    assert len({m.profile.team_member_id for m in members}) == len(members)
    active = [m.profile for m in members if m.profile.status.is_active()]
    assert active
    state["member"] = next(p for p in active if p.team_member_id != state["admin"])
    state["members"] = members


@check("team/namespaces/list + continue, team/team_folder/list")
def _():
    page = team.team_namespaces_list(limit=2)
    spaces = list(page.namespaces)
    while page.has_more:
        page = team.team_namespaces_list_continue(page.cursor)
        spaces.extend(page.namespaces)
    kinds = {s.namespace_type._tag for s in spaces}
    assert {"team_member_folder", "team_folder"} <= kinds, kinds
    folders = team.team_team_folder_list().team_folders
    assert folders and all(f.team_folder_id for f in folders)
    state["team_folder_ns"] = next(f.team_folder_id for f in folders if f.status.is_active())


member = None


@check("Select-User: users/get_current_account, list_folder + continue")
def _():
    global member
    member = team.as_user(state["member"].team_member_id)
    account = member.users_get_current_account()
    assert account.team_member_id == state["member"].team_member_id
    assert account.root_info.root_namespace_id == state["member"].member_folder_id
    res = member.files_list_folder("", recursive=True, limit=25)
    entries = list(res.entries)
    while res.has_more:
        res = member.files_list_folder_continue(res.cursor)
        entries.extend(res.entries)
    assert len(entries) > 25, "expected several pages"
    paths = [e.path_lower for e in entries]
    assert len(paths) == len(set(paths)), "an entry was listed twice"
    state["files"] = [e for e in entries if isinstance(e, dbx_files.FileMetadata)]
    state["cursor"] = res.cursor
    assert state["files"]


@check("files/download (+ content_hash check) and get_metadata")
def _():
    f = min(state["files"], key=lambda e: abs(e.size - 200_000))
    meta, resp = member.files_download(f.path_display)
    data = resp.content
    assert meta.rev == f.rev and len(data) == f.size
    assert content_hash(data) == f.content_hash
    again = member.files_get_metadata(f.id)
    assert again.path_lower == f.path_lower


@check("files/upload: add, autorename, update, overwrite, content_hash")
def _():
    body = b"hello from the official SDK\n" * 100
    first = member.files_upload(body, "/SDK check/Report.txt")
    assert first.content_hash == content_hash(body)
    renamed = member.files_upload(b"other", "/SDK check/Report.txt", autorename=True)
    assert renamed.name == "Report (2).txt", renamed.name
    try:
        member.files_upload(b"conflict", "/SDK check/Report.txt")
        raise AssertionError("add onto an existing file must conflict")
    except ApiError as e:
        assert e.error.is_path() and e.error.get_path().reason.is_conflict()
    updated = member.files_upload(
        b"v2", "/SDK check/Report.txt", mode=dbx_files.WriteMode.update(first.rev)
    )
    assert updated.rev != first.rev and updated.id == first.id
    over = member.files_upload(b"v3", "/SDK check/Report.txt", mode=dbx_files.WriteMode.overwrite)
    revs = member.files_list_revisions("/SDK check/Report.txt").entries
    assert [r.rev for r in revs][:3] == [over.rev, updated.rev, first.rev]
    _, resp = member.files_download("rev:" + first.rev)
    assert resp.content == body


@check("upload sessions: start / append_v2 / finish, finish_batch_v2")
def _():
    chunk = os.urandom(4 << 20)
    tail = os.urandom(1234)
    start = member.files_upload_session_start(chunk)
    cursor = dbx_files.UploadSessionCursor(start.session_id, len(chunk))
    member.files_upload_session_append_v2(chunk, cursor)
    cursor.offset += len(chunk)
    meta = member.files_upload_session_finish(
        tail, cursor, dbx_files.CommitInfo("/SDK check/big.bin")
    )
    assert meta.size == 2 * len(chunk) + len(tail)
    assert meta.content_hash == content_hash(chunk + chunk + tail)
    try:
        bad = member.files_upload_session_start(b"x")
        member.files_upload_session_append_v2(
            b"y", dbx_files.UploadSessionCursor(bad.session_id, 99)
        )
        raise AssertionError("a wrong offset must fail")
    except ApiError as e:
        assert e.error.is_incorrect_offset()
        assert e.error.get_incorrect_offset().correct_offset == 1
    entries = []
    for i in range(3):
        data = ("batch file %d\n" % i).encode() * 50
        s = member.files_upload_session_start(data, close=True)
        entries.append(
            dbx_files.UploadSessionFinishArg(
                dbx_files.UploadSessionCursor(s.session_id, len(data)),
                dbx_files.CommitInfo("/SDK check/batch/%d.txt" % i),
            )
        )
    result = member.files_upload_session_finish_batch_v2(entries)
    assert all(r.is_success() for r in result.entries), result


@check("list_folder/continue reports exactly the new changes; longpoll")
def _():
    cursor = member.files_list_folder_get_latest_cursor("", recursive=True).cursor
    member.files_upload(b"new", "/SDK check/after-cursor.txt")
    member.files_delete_v2("/SDK check/big.bin")
    poll = member.files_list_folder_longpoll(cursor, timeout=30)
    assert poll.changes
    res = member.files_list_folder_continue(cursor)
    got = {(type(e).__name__, e.path_lower) for e in res.entries}
    assert got == {
        ("FileMetadata", "/sdk check/after-cursor.txt"),
        ("DeletedMetadata", "/sdk check/big.bin"),
    }, got
    res = member.files_list_folder_continue(res.cursor)
    assert res.entries == [] and not res.has_more


@check("cursor reset is reported as ApiError.is_reset()")
def _():
    cursor = member.files_list_folder_get_latest_cursor("").cursor
    control("POST", "/cursors/reset", {})
    try:
        member.files_list_folder_continue(cursor)
        raise AssertionError("expected reset")
    except ApiError as e:
        assert e.error.is_reset()


@check("Select-Admin + Path-Root namespace listing; 422 on a bad root")
def _():
    admin = team.as_admin(state["admin"])
    scoped = admin.with_path_root(dbx_common.PathRoot.namespace_id(state["team_folder_ns"]))
    res = scoped.files_list_folder("", recursive=True)
    assert res.entries
    wrong = admin.with_path_root(dbx_common.PathRoot.root("1"))
    try:
        wrong.files_list_folder("")
        raise AssertionError("expected a path root error")
    except dropbox.exceptions.PathRootError as e:
        assert e.error.is_invalid_root()


@check("OAuth: consent page, PKCE code exchange, 401 expired -> automatic refresh")
def _():
    flow = dropbox.DropboxOAuth2FlowNoRedirect(
        APP_KEY, use_pkce=True, token_access_type="offline", ca_certs=CA
    )
    url = flow.start()
    page = session.get(url)
    assert page.status_code == 200 and "Sign in" in page.text
    request_id = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
    consent = session.post(
        "https://%s/oauth2/authorize/login" % HOST,
        data={"request": request_id, "email": ADMIN_EMAIL, "password": ADMIN_PASS},
    )
    assert consent.status_code == 200 and "Allow" in consent.text, consent.text
    done = session.post(
        "https://%s/oauth2/authorize/decision" % HOST,
        data={"request": request_id, "decision": "allow"},
    )
    code = re.search(r"<code>([^<]+)</code>", done.text).group(1)
    result = flow.finish(code)
    assert result.refresh_token and result.account_id.startswith("dbtid:")
    linked = dropbox.DropboxTeam(
        oauth2_access_token=result.access_token,
        oauth2_refresh_token=result.refresh_token,
        oauth2_access_token_expiration=result.expires_at,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        ca_certs=CA,
    )
    linked.team_get_info()
    control("POST", "/tokens/expire")
    before = control("GET", "/counters")["routes"].get("oauth2/token", {}).get("calls", 0)
    linked.team_get_info()
    after = control("GET", "/counters")["routes"]["oauth2/token"]["calls"]
    assert after == before + 1, "the SDK should have refreshed exactly once"


@check("429 with Retry-After is retried by the SDK")
def _():
    control("PUT", "/rate_limit", {"requests_per_second": 1, "burst": 1})
    started = time.time()
    try:
        member.files_get_metadata("/SDK check/Report.txt")
        member.files_get_metadata("/SDK check/Report.txt")
    finally:
        control("PUT", "/rate_limit", None)
    assert time.time() - started >= 0.9, "the second call should have waited"
    assert control("GET", "/counters")["rate_limited"] >= 1


print("all %d SDK checks passed (dropbox %s)" % (len(PASSED), dropbox.__version__))
