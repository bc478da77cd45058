//! Keycloak's admin REST API: the powers kensa has over a Keycloak realm
//! (rotate its signing key, fetch its SAML IdP descriptor, create a user).
//!
//! The admin signs in with the password grant at
//! `{base}/realms/{admin realm}/protocol/openid-connect/token` (client
//! `admin-cli`), then calls `{base}/admin/realms/{realm}/...` with the
//! Bearer token. Endpoints and payloads follow Keycloak's Admin REST API
//! reference (RealmRepresentation, ComponentRepresentation,
//! KeysMetadataRepresentation, UserRepresentation).

use anyhow::{Context as _, anyhow, bail};
use url::Url;

use crate::http::{Body, HttpClient, Request};
use crate::secret::Secret;

/// Admin powers over a Keycloak deployment: who signs in to its admin REST
/// API (a profile's `[admin]` table, or the container target's own admin).
#[derive(Debug, Clone)]
pub struct Admin {
    /// The realm the admin user lives in (`master`).
    pub realm: String,
    /// The client that signs the admin in (`admin-cli`).
    pub client_id: String,
    /// Admin username.
    pub username: String,
    /// Admin password, from the environment.
    pub password: crate::secret::Secret,
}

/// The Keycloak base URL and realm name of an issuer
/// `{base}/realms/{realm}`.
///
/// # Errors
/// When the issuer's path does not end in `/realms/{realm}`.
pub fn split_issuer(issuer: &str) -> anyhow::Result<(Url, String)> {
    let url = Url::parse(issuer).with_context(|| format!("issuer {issuer:?} is not a URL"))?;
    let path = url.path().trim_end_matches('/');
    let (prefix, realm) = path
        .rsplit_once("/realms/")
        .filter(|(_, r)| !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| anyhow!("issuer {issuer} is not a Keycloak realm issuer (…/realms/NAME)"))?;
    let mut base = url.clone();
    base.set_path(&format!("{prefix}/"));
    base.set_query(None);
    Ok((base, realm.to_owned()))
}

/// A signed-in admin of one Keycloak.
#[derive(Debug)]
pub struct AdminClient {
    http: HttpClient,
    base: Url,
    token: Secret,
}

/// A realm key as `GET /admin/realms/{realm}/keys` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmKey {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub algorithm: String,
    /// Provider priority: the active key of an algorithm with the highest
    /// priority signs.
    pub priority: i64,
    /// `ACTIVE`, `PASSIVE` or `DISABLED`.
    pub status: String,
}

impl AdminClient {
    /// Signs the admin in (password grant, public client `admin-cli`).
    ///
    /// # Errors
    /// When the token request fails or is refused.
    pub async fn sign_in(http: &HttpClient, issuer: &str, admin: &Admin) -> anyhow::Result<Self> {
        let (base, _) = split_issuer(issuer)?;
        let url = base.join(&format!("realms/{}/protocol/openid-connect/token", admin.realm))?;
        http.scrubber().register(admin.password.expose());
        let form = vec![
            ("grant_type".into(), "password".into()),
            ("client_id".into(), admin.client_id.clone()),
            ("username".into(), admin.username.clone()),
            ("password".into(), admin.password.expose().to_owned()),
        ];
        let resp = http.send(Request::post_form(url, form)).await?;
        let body = resp.json().map_err(|e| anyhow!(e))?;
        if resp.status != 200 {
            bail!(
                "the admin token request answered {} ({})",
                resp.status,
                body.get("error_description").or_else(|| body.get("error")).unwrap_or(&serde_json::Value::Null)
            );
        }
        let token = body
            .get("access_token")
            .and_then(|t| t.as_str())
            .ok_or_else(|| anyhow!("the admin token response has no access_token"))?;
        http.scrubber().register(token);
        Ok(Self { http: http.clone(), base, token: Secret::new(token) })
    }

    fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(path)?)
    }

    async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let resp = self.http.send(Request::get(self.url(path)?).bearer(self.token.expose())).await?;
        if resp.status != 200 {
            bail!("GET {path} answered {}", resp.status);
        }
        resp.json().map_err(|e| anyhow!(e))
    }

    async fn post_json(&self, path: &str, body: serde_json::Value) -> anyhow::Result<crate::http::Response> {
        let req = Request {
            method: reqwest::Method::POST,
            url: self.url(path)?,
            headers: Vec::new(),
            body: Some(Body::Json(body)),
        }
        .bearer(self.token.expose());
        Ok(self.http.send(req).await?)
    }

    /// The realm's keys.
    ///
    /// # Errors
    /// When the call fails or the answer has no `keys` list.
    pub async fn keys(&self, realm: &str) -> anyhow::Result<Vec<RealmKey>> {
        let v = self.get_json(&format!("admin/realms/{realm}/keys")).await?;
        let keys = v.get("keys").and_then(|k| k.as_array()).ok_or_else(|| anyhow!("the keys answer has no keys"))?;
        Ok(keys
            .iter()
            .filter_map(|k| {
                Some(RealmKey {
                    kid: k.get("kid")?.as_str()?.to_owned(),
                    algorithm: k.get("algorithm").and_then(|a| a.as_str()).unwrap_or_default().to_owned(),
                    priority: k.get("providerPriority").and_then(serde_json::Value::as_i64).unwrap_or_default(),
                    status: k.get("status").and_then(|s| s.as_str()).unwrap_or("ACTIVE").to_owned(),
                })
            })
            .collect())
    }

    /// Rotates the realm's RS256 signing key: adds an `rsa-generated` key
    /// provider with a priority above every existing key, so that Keycloak
    /// signs with the new key from now on; the old keys stay (verifiable)
    /// until removed. Returns the new key's id.
    ///
    /// # Errors
    /// When a call fails or no new RS256 key appears.
    pub async fn rotate_signing_key(&self, realm: &str) -> anyhow::Result<String> {
        let realm_rep = self.get_json(&format!("admin/realms/{realm}")).await?;
        let realm_id =
            realm_rep.get("id").and_then(|i| i.as_str()).ok_or_else(|| anyhow!("realm {realm} has no id"))?.to_owned();
        let before = self.keys(realm).await?;
        let priority = before.iter().map(|k| k.priority).max().unwrap_or(100) + 10;
        let stamp = crate::report::time::now_ms();
        let component = serde_json::json!({
            "name": format!("kensa-rotated-{stamp}"),
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "parentId": realm_id,
            "config": {
                "priority": [priority.to_string()],
                "enabled": ["true"],
                "active": ["true"],
                "algorithm": ["RS256"],
                "keySize": ["2048"],
            }
        });
        let resp = self.post_json(&format!("admin/realms/{realm}/components"), component).await?;
        if resp.status != 201 {
            bail!("creating the key provider answered {} ({})", resp.status, crate::http::preview(&resp.text(), 160));
        }
        let after = self.keys(realm).await?;
        after
            .iter()
            .filter(|k| k.algorithm == "RS256" && k.status == "ACTIVE" && !before.iter().any(|b| b.kid == k.kid))
            .max_by_key(|k| k.priority)
            .map(|k| k.kid.clone())
            .ok_or_else(|| anyhow!("no new active RS256 key appeared after the rotation"))
    }

    /// The realm's SAML 2.0 IdP metadata (EntityDescriptor XML).
    ///
    /// # Errors
    /// When the call fails or the answer is not an EntityDescriptor.
    pub async fn saml_descriptor(&self, realm: &str) -> anyhow::Result<String> {
        let url = self.url(&format!("realms/{realm}/protocol/saml/descriptor"))?;
        let resp = self.http.send(Request::get(url)).await?;
        let text = resp.text();
        if resp.status != 200 || !text.contains("EntityDescriptor") {
            bail!("the SAML descriptor answered {}: {}", resp.status, crate::http::preview(&text, 120));
        }
        Ok(text)
    }

    /// Creates an enabled user with a permanent password; returns the new
    /// user's id (from the `Location` header).
    ///
    /// # Errors
    /// When Keycloak refuses (409 when the username exists).
    pub async fn create_user(&self, realm: &str, username: &str, password: &Secret) -> anyhow::Result<String> {
        self.http.scrubber().register(password.expose());
        let user = serde_json::json!({
            "username": username,
            "enabled": true,
            "emailVerified": true,
            "credentials": [{"type": "password", "value": password.expose(), "temporary": false}],
        });
        let resp = self.post_json(&format!("admin/realms/{realm}/users"), user).await?;
        match resp.status {
            201 => resp
                .header("location")
                .and_then(|l| l.rsplit('/').next())
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("the new user's Location header is missing")),
            409 => bail!("user {username:?} already exists in realm {realm}"),
            s => bail!("creating user {username:?} answered {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::secret::Scrubber;

    fn keys(list: &[(&str, &str, i64)]) -> serde_json::Value {
        serde_json::json!({"active": {}, "keys": list.iter().map(|(kid, alg, prio)| serde_json::json!({
            "kid": kid, "algorithm": alg, "providerPriority": prio, "status": "ACTIVE", "type": "RSA"
        })).collect::<Vec<_>>()})
    }

    /// The admin calls against a server that answers as Keycloak's Admin
    /// REST API documents, and only to the requests shaped as it expects.
    #[tokio::test]
    async fn the_admin_client_signs_in_rotates_the_key_and_creates_a_user() {
        let kc = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/realms/master/protocol/openid-connect/token"))
            .and(body_string_contains("grant_type=password"))
            .and(body_string_contains("client_id=admin-cli"))
            .and(body_string_contains("username=admin"))
            .and(body_string_contains("password=adm1n-pw"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "admin-at", "token_type": "Bearer"})),
            )
            .mount(&kc)
            .await;
        // Keycloak's answer to a wrong admin password.
        Mock::given(method("POST"))
            .and(path("/realms/master/protocol/openid-connect/token"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"error": "invalid_grant", "error_description": "Invalid user credentials"}),
            ))
            .with_priority(10)
            .mount(&kc)
            .await;
        let bearer = || header("authorization", "Bearer admin-at");
        Mock::given(method("GET"))
            .and(path("/admin/realms/kensa"))
            .and(bearer())
            .respond_with(
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": "realm-uuid", "realm": "kensa"})),
            )
            .mount(&kc)
            .await;
        Mock::given(method("GET"))
            .and(path("/admin/realms/kensa/keys"))
            .and(bearer())
            .respond_with(
                ResponseTemplate::new(200).set_body_json(keys(&[("old", "RS256", 100), ("ec", "ES256", 100)])),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&kc)
            .await;
        Mock::given(method("GET"))
            .and(path("/admin/realms/kensa/keys"))
            .and(bearer())
            .respond_with(ResponseTemplate::new(200).set_body_json(keys(&[
                ("old", "RS256", 100),
                ("new", "RS256", 110),
                ("ec", "ES256", 100),
            ])))
            .with_priority(2)
            .mount(&kc)
            .await;
        Mock::given(method("POST"))
            .and(path("/admin/realms/kensa/components"))
            .and(bearer())
            .and(body_partial_json(serde_json::json!({
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": "realm-uuid",
                "config": {"priority": ["110"], "active": ["true"], "algorithm": ["RS256"]}
            })))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&kc)
            .await;
        Mock::given(method("POST"))
            .and(path("/admin/realms/kensa/users"))
            .and(bearer())
            .and(body_partial_json(serde_json::json!({
                "username": "carol", "enabled": true,
                "credentials": [{"type": "password", "value": "carol-pw", "temporary": false}]
            })))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("location", format!("{}/admin/realms/kensa/users/u-42", kc.uri())),
            )
            .mount(&kc)
            .await;
        Mock::given(method("GET"))
            .and(path("/realms/kensa/protocol/saml/descriptor"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"#,
                "application/xml",
            ))
            .mount(&kc)
            .await;

        let scrubber = Scrubber::new();
        let http = HttpClient::new(scrubber.clone()).unwrap();
        let admin = Admin {
            realm: "master".into(),
            client_id: "admin-cli".into(),
            username: "admin".into(),
            password: Secret::new("adm1n-pw"),
        };
        let issuer = format!("{}/realms/kensa", kc.uri());
        let client = AdminClient::sign_in(&http, &issuer, &admin).await.unwrap();
        assert_eq!(client.rotate_signing_key("kensa").await.unwrap(), "new");
        assert_eq!(client.create_user("kensa", "carol", &Secret::new("carol-pw")).await.unwrap(), "u-42");
        assert!(client.saml_descriptor("kensa").await.unwrap().contains("EntityDescriptor"));
        // The admin token and passwords are secrets of the run.
        assert_eq!(scrubber.scrub("admin-at adm1n-pw carol-pw"), "[redacted] [redacted] [redacted]");
        let wrong = Admin { password: Secret::new("wrong"), ..admin };
        let err = AdminClient::sign_in(&http, &issuer, &wrong).await.unwrap_err().to_string();
        assert!(err.contains("answered 401") && err.contains("Invalid user credentials"), "{err}");
        assert!(!err.contains("wrong"), "the error repeats the password: {err}");
    }

    #[test]
    fn issuer_splits_into_base_and_realm() {
        let (base, realm) = split_issuer("https://sso.example.com/auth/realms/lgfilelinkagedemo").unwrap();
        assert_eq!(base.as_str(), "https://sso.example.com/auth/");
        assert_eq!(realm, "lgfilelinkagedemo");
        let (base, realm) = split_issuer("http://127.0.0.1:8080/realms/kensa/").unwrap();
        assert_eq!((base.as_str(), realm.as_str()), ("http://127.0.0.1:8080/", "kensa"));
        assert!(split_issuer("https://idp.example.com/oidc").is_err());
        assert!(split_issuer("https://idp.example.com/realms/a/b").is_err());
    }
}
