//! [`TeamClient`]: a team-linked connection built from a [`TokenSet`], and the team
//! routes (research note §2): team info, features, the authenticated admin, members,
//! team folders and namespaces, each paged to the end.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::DropboxApp;
use crate::entity::{Access, Entity};
use crate::error::DropboxError;
use crate::limiter::MemberLimiter;
use crate::oauth::{AccessToken, TokenSet};
use crate::observe::{ClientObserver, ClientStats, Counters, NoObserver};
use crate::team::{
    AdminWire, Member, MemberPage, Namespace, NamespacePage, TeamFeatures, TeamFolder,
    TeamFolderPage, TeamInfo, parse_features,
};
use crate::tokens::{DiscardTokens, TokenManager, TokenSink};
use crate::transport::{Auth, Host};

/// Shared state of a client and its clones.
pub(crate) struct ClientInner {
    pub(crate) app: DropboxApp,
    pub(crate) tokens: TokenManager,
    pub(crate) limiter: MemberLimiter,
    pub(crate) counters: Counters,
    pub(crate) observer: Arc<dyn ClientObserver>,
    admin: tokio::sync::OnceCell<Member>,
}

/// A connection to one team, acting with the team token. Cheap to clone; clones share
/// the token, the member slots and the counters.
#[derive(Clone)]
pub struct TeamClient {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for TeamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamClient")
            .field("app_key", &self.inner.app.config().app_key)
            .field("tokens", &self.inner.tokens)
            .finish_non_exhaustive()
    }
}

/// Builds a [`TeamClient`].
pub struct TeamClientBuilder {
    app: DropboxApp,
    tokens: TokenSet,
    sink: Arc<dyn TokenSink>,
    observer: Arc<dyn ClientObserver>,
}

impl TeamClientBuilder {
    /// Who hears about refreshed access tokens (default: nobody).
    #[must_use]
    pub fn token_sink(mut self, sink: Arc<dyn TokenSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Who hears about rate-limit waits and retries (default: nobody).
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn ClientObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The client.
    #[must_use]
    pub fn build(self) -> TeamClient {
        let config = self.app.config();
        let tokens = TokenManager::new(
            self.tokens.access_token,
            self.tokens.expires_at,
            self.tokens.refresh_token,
            self.sink,
            config.refresh_margin,
        );
        let limiter = MemberLimiter::new(config.max_concurrency_per_member);
        TeamClient {
            inner: Arc::new(ClientInner {
                app: self.app,
                tokens,
                limiter,
                counters: Counters::default(),
                observer: self.observer,
                admin: tokio::sync::OnceCell::new(),
            }),
        }
    }
}

impl DropboxApp {
    /// Starts building a client for the team these tokens were issued for.
    #[must_use]
    pub fn team(&self, tokens: TokenSet) -> TeamClientBuilder {
        TeamClientBuilder {
            app: self.clone(),
            tokens,
            sink: Arc::new(DiscardTokens),
            observer: Arc::new(NoObserver),
        }
    }
}

impl TeamClient {
    /// The app this client belongs to.
    #[must_use]
    pub fn app(&self) -> &DropboxApp {
        &self.inner.app
    }

    /// Counters since the client was built.
    #[must_use]
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot()
    }

    /// The per-member slots (for progress pages: who is busy, who waits).
    #[must_use]
    pub fn limiter(&self) -> &MemberLimiter {
        &self.inner.limiter
    }

    /// The access token in use now (after any refresh).
    pub async fn current_access_token(&self) -> AccessToken {
        self.inner.tokens.current().await
    }

    pub(crate) async fn team_rpc<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        arg: &Value,
    ) -> Result<T, DropboxError> {
        self.inner.rpc(route, Host::Api, Auth::Team, arg).await
    }

    /// `team/get_info`.
    ///
    /// # Errors
    /// Any [`DropboxError`]; [`DropboxError::Disconnected`] when the app was unlinked.
    pub async fn team_info(&self) -> Result<TeamInfo, DropboxError> {
        self.team_rpc("team/get_info", &Value::Null).await
    }

    /// `team/features/get_values` for the features backup and restore care about.
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn features(&self) -> Result<TeamFeatures, DropboxError> {
        let arg = json!({ "features": [
            {".tag": "upload_api_rate_limit"},
            {".tag": "has_team_shared_dropbox"},
            {".tag": "has_distinct_member_homes"},
        ]});
        let body: Value = self.team_rpc("team/features/get_values", &arg).await?;
        Ok(parse_features(&body))
    }

    /// The admin who linked the app (`team/token/get_authenticated_admin`), used for
    /// Select-Admin. Asked once per client.
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn authenticated_admin(&self) -> Result<Member, DropboxError> {
        self.inner
            .admin
            .get_or_try_init(|| async {
                let wire: AdminWire = self
                    .team_rpc("team/token/get_authenticated_admin", &Value::Null)
                    .await?;
                Ok(wire.admin_profile.into_member(Vec::new()))
            })
            .await
            .cloned()
    }

    /// Every member (`members/list_v2` + `continue_v2`), removed ones included when asked.
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn members(&self, include_removed: bool) -> Result<Vec<Member>, DropboxError> {
        let mut page: MemberPage = self
            .team_rpc(
                "team/members/list_v2",
                &json!({ "limit": 1000, "include_removed": include_removed }),
            )
            .await?;
        let mut out = Vec::new();
        loop {
            out.extend(page.members.into_iter().map(Member::from));
            if !page.has_more {
                return Ok(out);
            }
            page = self
                .team_rpc(
                    "team/members/list/continue_v2",
                    &json!({ "cursor": page.cursor }),
                )
                .await?;
        }
    }

    /// Every team folder (`team_folder/list` + `continue`), whatever its status.
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn team_folders(&self) -> Result<Vec<TeamFolder>, DropboxError> {
        let mut page: TeamFolderPage = self
            .team_rpc("team/team_folder/list", &json!({ "limit": 1000 }))
            .await?;
        let mut out = Vec::new();
        loop {
            out.extend(page.team_folders.into_iter().map(TeamFolder::from));
            if !page.has_more {
                return Ok(out);
            }
            page = self
                .team_rpc(
                    "team/team_folder/list/continue",
                    &json!({ "cursor": page.cursor }),
                )
                .await?;
        }
    }

    /// Every namespace of the team (`namespaces/list` + `continue`), as reported: the
    /// spec warns it may contain duplicates ([`TeamClient::discover`] removes them).
    ///
    /// # Errors
    /// Any [`DropboxError`].
    pub async fn namespaces(&self) -> Result<Vec<Namespace>, DropboxError> {
        let mut page: NamespacePage = self
            .team_rpc("team/namespaces/list", &json!({ "limit": 1000 }))
            .await?;
        let mut out = Vec::new();
        loop {
            out.extend(page.namespaces.into_iter().map(Namespace::from));
            if !page.has_more {
                return Ok(out);
            }
            page = self
                .team_rpc(
                    "team/namespaces/list/continue",
                    &json!({ "cursor": page.cursor }),
                )
                .await?;
        }
    }

    /// How to authenticate calls reading `entity`.
    pub(crate) async fn entity_auth(&self, entity: &Entity) -> Result<Auth, DropboxError> {
        let path_root = Some(entity.namespace_id.clone());
        Ok(match &entity.access {
            Access::Member { team_member_id } => Auth::User {
                team_member_id: team_member_id.clone(),
                path_root,
            },
            Access::Admin => Auth::Admin {
                team_member_id: self.authenticated_admin().await?.team_member_id,
                path_root,
            },
        })
    }

    /// Unlinks the app from the team: revokes the access token and with it the refresh
    /// token (as the admin: Dropbox may refuse team tokens without a selected member,
    /// research note §1.4). The caller must still delete the stored tokens.
    /// Already-revoked counts as done.
    ///
    /// # Errors
    /// Transport and server errors.
    pub async fn revoke(&self) -> Result<(), DropboxError> {
        let revoked = async {
            let admin = self.authenticated_admin().await?.team_member_id;
            let auth = Auth::Admin {
                team_member_id: admin,
                path_root: None,
            };
            self.inner
                .rpc::<Value>("auth/token/revoke", Host::Api, auth, &Value::Null)
                .await
        };
        match revoked.await {
            Ok(_) | Err(DropboxError::Disconnected { .. }) => {
                self.inner
                    .tokens
                    .disconnect("the app was unlinked from the team");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
