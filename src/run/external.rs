//! The external APIs a run starts for targets that delegate password checks.

use std::path::Path;
use std::sync::Arc;

use kensa_mocks::external::{Contract, ExternalApi, ExternalUser, Router};

/// An external password API (LemonLDAP::NG REST contract) that knows the
/// realm's users: targets that delegate every password check (LemonLDAP::NG
/// with its REST backend) must find them there.
#[derive(Debug)]
pub struct Directory {
    api: ExternalApi,
    usernames: Vec<String>,
}

impl Directory {
    /// Starts the directory with the users of FIXTURES/realm.toml.
    ///
    /// # Errors
    /// When the realm fixture cannot be read.
    pub async fn start(fixtures: &Path) -> Result<Self, String> {
        let realm = crate::targets::load_realm(fixtures).map_err(|e| e.to_string())?;
        let api = ExternalApi::start(Contract::LemonLdapRest).await;
        for u in &realm.users {
            let mut attributes = u.claims.clone();
            attributes.insert("user_id".into(), serde_json::Value::String(u.sub.clone()));
            // LemonLDAP::NG builds the address claim from flat attributes
            // (formatted, street_address, ...): the directory carries them so.
            if let Some(serde_json::Value::Object(address)) = u.claims.get("address") {
                for (k, v) in address {
                    attributes.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            let user = ExternalUser { username: u.username.clone(), password: u.password.clone(), attributes };
            api.accept(&user, None).await;
        }
        Ok(Self { api, usernames: realm.users.iter().map(|u| u.username.clone()).collect() })
    }

    /// A new router that sends the realm's usernames to this directory.
    /// Scenarios route their own users (and fixed user ids) on it, so
    /// targets that run at once each need their own.
    ///
    /// # Errors
    /// When the router cannot listen.
    pub async fn router(&self) -> Result<Arc<Router>, String> {
        let router = Router::start().await.map_err(|e| format!("cannot start the external API router: {e}"))?;
        for name in &self.usernames {
            router.route(name, &self.api.uri());
        }
        Ok(Arc::new(router))
    }
}

/// The directory and one router for a run whose targets run one at a time.
///
/// # Errors
/// When the realm fixture cannot be read or the router cannot listen.
pub async fn start(fixtures: &Path) -> Result<(Arc<Router>, Directory), String> {
    let directory = Directory::start(fixtures).await?;
    let router = directory.router().await?;
    Ok((router, directory))
}
