//! The table of `/2/…` routes the emulator serves, with what the spec says about each:
//! host, style, auth, required scope, `select_admin_mode` (read or write) and whether it
//! counts against the data-transport quota (research note §3, §6.3).

/// Which Dropbox host serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `api.dropboxapi.com`
    Api,
    /// `content.dropboxapi.com`
    Content,
    /// `notify.dropboxapi.com`
    Notify,
}

/// How arguments and results travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// JSON body in, JSON body out.
    Rpc,
    /// Argument in `Dropbox-API-Arg`, bytes in the body, JSON body out.
    Upload,
    /// Argument in `Dropbox-API-Arg` (or `?arg=`), bytes out, JSON in `Dropbox-API-Result`.
    Download,
}

/// Which token a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// A user route: with a team token, needs Select-User or Select-Admin.
    User,
    /// A team route: team token, no Select header.
    Team,
    /// No authentication (long-poll).
    NoAuth,
}

/// One route.
#[derive(Debug)]
pub struct RouteSpec {
    /// Name as in the URL after `/2/`.
    pub name: &'static str,
    /// Serving host.
    pub host: Host,
    /// Style.
    pub style: Style,
    /// Token kind.
    pub auth: AuthKind,
    /// Required OAuth scope.
    pub scope: Option<&'static str>,
    /// Writes (`select_admin_mode = team_admin`): Select-Admin acts as the admin only.
    pub write: bool,
    /// Counts against the data-transport quota.
    pub transport: bool,
}

const fn route(
    name: &'static str,
    host: Host,
    style: Style,
    auth: AuthKind,
    scope: Option<&'static str>,
    write: bool,
    transport: bool,
) -> RouteSpec {
    RouteSpec {
        name,
        host,
        style,
        auth,
        scope,
        write,
        transport,
    }
}

use AuthKind::{NoAuth, Team, User};
use Host::{Api, Content, Notify};
use Style::{Download, Rpc, Upload};

const META_READ: Option<&str> = Some("files.metadata.read");
const CONTENT_WRITE: Option<&str> = Some("files.content.write");

/// Every route the emulator serves.
pub static ROUTES: [RouteSpec; 33] = [
    route("files/list_folder", Api, Rpc, User, META_READ, false, false),
    route(
        "files/list_folder/continue",
        Api,
        Rpc,
        User,
        META_READ,
        false,
        false,
    ),
    route(
        "files/list_folder/get_latest_cursor",
        Api,
        Rpc,
        User,
        META_READ,
        false,
        false,
    ),
    route(
        "files/list_folder/longpoll",
        Notify,
        Rpc,
        NoAuth,
        None,
        false,
        false,
    ),
    route(
        "files/get_metadata",
        Api,
        Rpc,
        User,
        META_READ,
        false,
        false,
    ),
    route(
        "files/list_revisions",
        Api,
        Rpc,
        User,
        META_READ,
        false,
        false,
    ),
    route(
        "files/download",
        Content,
        Download,
        User,
        Some("files.content.read"),
        false,
        false,
    ),
    route(
        "files/upload",
        Content,
        Upload,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/start",
        Content,
        Upload,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/append_v2",
        Content,
        Upload,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/append",
        Content,
        Upload,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/finish",
        Content,
        Upload,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/start_batch",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/finish_batch_v2",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/finish_batch",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        true,
    ),
    route(
        "files/upload_session/finish_batch/check",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        false,
    ),
    route(
        "files/create_folder_v2",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        false,
    ),
    route(
        "files/delete_v2",
        Api,
        Rpc,
        User,
        CONTENT_WRITE,
        true,
        false,
    ),
    route("files/copy_v2", Api, Rpc, User, CONTENT_WRITE, true, false),
    route("files/move_v2", Api, Rpc, User, CONTENT_WRITE, true, false),
    route("files/restore", Api, Rpc, User, CONTENT_WRITE, true, false),
    route(
        "users/get_current_account",
        Api,
        Rpc,
        User,
        Some("account_info.read"),
        false,
        false,
    ),
    route("auth/token/revoke", Api, Rpc, User, None, false, false),
    route(
        "team/get_info",
        Api,
        Rpc,
        Team,
        Some("team_info.read"),
        false,
        false,
    ),
    route(
        "team/features/get_values",
        Api,
        Rpc,
        Team,
        Some("team_info.read"),
        false,
        false,
    ),
    route(
        "team/token/get_authenticated_admin",
        Api,
        Rpc,
        Team,
        Some("team_info.read"),
        false,
        false,
    ),
    route(
        "team/members/list_v2",
        Api,
        Rpc,
        Team,
        Some("members.read"),
        false,
        false,
    ),
    route(
        "team/members/list/continue_v2",
        Api,
        Rpc,
        Team,
        Some("members.read"),
        false,
        false,
    ),
    route(
        "team/members/get_info_v2",
        Api,
        Rpc,
        Team,
        Some("members.read"),
        false,
        false,
    ),
    route(
        "team/team_folder/list",
        Api,
        Rpc,
        Team,
        Some("team_data.content.read"),
        false,
        false,
    ),
    route(
        "team/team_folder/list/continue",
        Api,
        Rpc,
        Team,
        Some("team_data.content.read"),
        false,
        false,
    ),
    route(
        "team/namespaces/list",
        Api,
        Rpc,
        Team,
        Some("team_data.member"),
        false,
        false,
    ),
    route(
        "team/namespaces/list/continue",
        Api,
        Rpc,
        Team,
        Some("team_data.member"),
        false,
        false,
    ),
];

/// The route called `name`.
#[must_use]
pub fn find(name: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_unique_and_findable() {
        let mut names: Vec<_> = ROUTES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len());
        assert!(find("files/upload").is_some_and(|r| r.transport && r.host == Host::Content));
        assert!(find("files/download").is_some_and(|r| !r.transport));
        assert!(find("nope").is_none());
    }
}
