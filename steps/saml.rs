//! SAML and file-linkage steps: sign in at the IdP for AWS (IdP- or
//! SP-initiated SSO), judge the SAMLResponse by the rules AWS STS applies,
//! assume the role at the STS mock, and move linkage files through the
//! storage mock with the temporary credentials.

use anyhow::{Context, anyhow};
use cucumber::{given, then, when};
use kensa::aws::{self, Bucket};
use kensa::http::Request;
use kensa::login::{self, Credentials, Outcome, Tamper};
use kensa::secret::Secret;
use kensa::world::{AwsEndpoints, KensaWorld, LinkageScenario, StepResult};
use kensa_mocks::saml::authn::AuthnRequest;
use kensa_mocks::saml::metadata;
use kensa_mocks::sts::rules::{self, Linkage, Provider, Rule};
use sha2::{Digest, Sha256};
use url::Url;

fn linkage(w: &KensaWorld) -> anyhow::Result<Linkage> {
    w.ctx
        .linkage
        .as_deref()
        .cloned()
        .ok_or_else(|| anyhow!("the fixtures have no file-linkage.toml: the AWS side is not described"))
}

fn scenario(w: &mut KensaWorld) -> &mut LinkageScenario {
    // The doubles follow the run's clock and move on their own: a scenario
    // that expires its credentials does not age the IdP's tokens.
    let clock = w.clock().child();
    w.linkage.get_or_insert_with(|| {
        let folder = format!("kensa-{:016x}/", rand::random::<u64>());
        let store = std::sync::Arc::new(kensa_mocks::sts::CredentialStore::with_clock(clock));
        Box::new(LinkageScenario { folder, store, ..Default::default() })
    })
}

/// `key` inside this scenario's folder of the bucket.
fn object(w: &mut KensaWorld, key: &str) -> String {
    format!("{}{key}", scenario(w).folder)
}

fn saml_side(w: &KensaWorld) -> anyhow::Result<kensa::targets::SamlSide> {
    w.ctx.target.saml.clone().ok_or_else(|| anyhow!("target {} has no SAML IdP side", w.ctx.target.name))
}

async fn fetch_metadata(w: &mut KensaWorld) -> anyhow::Result<(String, metadata::IdpMetadata)> {
    let url = Url::parse(&saml_side(w)?.metadata_url)?;
    let resp = w.api.send(Request::get(url.clone())).await?;
    if resp.status != 200 {
        return Err(anyhow!("{url} answered {}: the IdP publishes no SAML metadata", resp.status));
    }
    let text = resp.text();
    let md = metadata::parse(&text).map_err(|e| anyhow!("the IdP's metadata at {url} is refused: {e}"))?;
    Ok((text, md))
}

fn provider(w: &KensaWorld, s: &LinkageScenario) -> anyhow::Result<Provider> {
    let md = s.metadata.as_ref().ok_or_else(|| anyhow!("no IdP metadata was fetched"))?;
    Ok(Provider { arn: linkage(w)?.provider_arn(), metadata: md.1.clone() })
}

#[given("the IdP's SAML metadata")]
async fn the_metadata(w: &mut KensaWorld) -> StepResult {
    let md = fetch_metadata(w).await?;
    scenario(w).metadata = Some(md);
    Ok(())
}

#[then("the metadata names the entity, a signing key and a single sign-on endpoint")]
async fn metadata_complete(w: &mut KensaWorld) -> StepResult {
    let Some((_, md)) = scenario(w).metadata.clone() else { fail!("no IdP metadata was fetched") };
    if md.entity_id.is_empty() {
        fail!("the metadata's entityID is empty");
    }
    if md.sso.is_empty() {
        fail!("the IDPSSODescriptor of {} lists no SingleSignOnService", md.entity_id);
    }
    if md.keys.is_empty() {
        fail!("the metadata of {} names no signing key", md.entity_id);
    }
    Ok(())
}

#[given("the AWS side of the file linkage, holding that metadata")]
async fn aws_side(w: &mut KensaWorld) -> StepResult {
    let l = linkage(w)?;
    if w.ctx.aws != AwsEndpoints::Mock {
        // Real AWS: the IAM SAML provider holds what the vendor uploaded.
        return Ok(());
    }
    let s = scenario(w);
    let Some((text, _)) = s.metadata.clone() else { fail!("no IdP metadata was fetched") };
    let sts =
        kensa_mocks::sts::RunningSts::start(&l.provider_arn(), &text, s.store.clone()).await.map_err(|e| anyhow!(e))?;
    let storage = kensa_mocks::storage::RunningStorage::start(s.store.clone()).await.map_err(|e| anyhow!(e))?;
    s.sts = Some(sts);
    s.storage = Some(storage);
    Ok(())
}

/// Signs in at the IdP for AWS in a fresh browser, starting at `start`,
/// and keeps the posted SAMLResponse.
async fn sign_in_for_aws(w: &mut KensaWorld, start: Url) -> anyhow::Result<()> {
    let user = w.user()?;
    let creds = Credentials { username: user.username.clone(), password: Secret::new(&user.password) };
    w.http = w.http.fresh_session()?;
    let outcome = login::drive(&w.http, Request::get(start), &creds, &w.ctx.target.login, Tamper::None, &|_| false)
        .await
        .context("the SAML sign-in failed")?;
    let Outcome::Page { response, .. } = outcome else {
        return Err(anyhow!("the IdP redirected instead of posting a SAMLResponse"));
    };
    let html = response.text();
    let doc = scraper::Html::parse_document(&html);
    let input = scraper::Selector::parse(r#"form input[name="SAMLResponse"]"#).map_err(|e| anyhow!("{e}"))?;
    let form = scraper::Selector::parse("form").map_err(|e| anyhow!("{e}"))?;
    let Some(value) = doc.select(&input).next().and_then(|i| i.value().attr("value")) else {
        let why = w.ctx.target.login.page_error(&html).unwrap_or_else(|| kensa::http::preview(&html, 200));
        return Err(anyhow!("the IdP answered {} without a SAMLResponse form: {why}", response.status));
    };
    let action = doc.select(&form).next().and_then(|f| f.value().attr("action")).unwrap_or("");
    if action != rules::SIGNIN {
        w.notes.push(format!("the SAMLResponse form posts to {action:?}"));
    }
    w.http.scrubber().register(value);
    scenario(w).response = Some(value.to_owned());
    Ok(())
}

/// IdP-initiated sign-in at the target's SSO URL for AWS.
async fn sign_in_idp_initiated(w: &mut KensaWorld) -> anyhow::Result<()> {
    let start = Url::parse(&saml_side(w)?.sso_url)?;
    sign_in_for_aws(w, start).await
}

#[when("the user signs in at the IdP for AWS")]
async fn signs_in(w: &mut KensaWorld) -> StepResult {
    sign_in_idp_initiated(w).await?;
    Ok(())
}

#[when("the user signs in at the IdP through an AuthnRequest from AWS")]
async fn signs_in_sp_initiated(w: &mut KensaWorld) -> StepResult {
    let Some((_, md)) = scenario(w).metadata.clone() else { fail!("no IdP metadata was fetched") };
    let Some((_, sso)) = md.sso.iter().find(|(binding, _)| binding == metadata::REDIRECT_BINDING) else {
        fail!(
            "the metadata of {} has no SingleSignOnService on the HTTP-Redirect binding, which SAML profiles 4.1.2 \
             names for AuthnRequests (its endpoints: {:?})",
            md.entity_id,
            md.sso
        );
    };
    let request = AuthnRequest {
        id: format!("_kensa{:032x}", rand::random::<u128>()),
        issuer: rules::AWS_ENTITY.to_owned(),
        destination: Some(sso.clone()),
        acs_url: Some(rules::SIGNIN.to_owned()),
        issue_instant: w.now(),
    };
    let mut start = Url::parse(sso).with_context(|| format!("the metadata's SSO endpoint {sso:?} is not a URL"))?;
    start.query_pairs_mut().append_pair("SAMLRequest", &request.to_redirect_param());
    scenario(w).authn_request = Some(request.id);
    sign_in_for_aws(w, start).await?;
    Ok(())
}

#[then("the SAML response answers that AuthnRequest")]
async fn answers_request(w: &mut KensaWorld) -> StepResult {
    let s = scenario(w);
    let id = s.authn_request.clone().ok_or_else(|| anyhow!("no AuthnRequest was sent"))?;
    let b64 = s.response.clone().ok_or_else(|| anyhow!("no SAMLResponse was posted"))?;
    let a = rules::inspect(&b64).map_err(|e| anyhow!("the SAMLResponse is refused: {e}"))?;
    let mut problems = Vec::new();
    if a.in_response_to.as_deref() != Some(id.as_str()) {
        problems.push(format!(
            "the Response's InResponseTo is {:?}, not the AuthnRequest's ID {id:?} (SAML core 3.2.2)",
            a.in_response_to
        ));
    }
    if a.bearer.is_empty() {
        problems.push("the assertion has no bearer SubjectConfirmation".to_owned());
    }
    for c in &a.bearer {
        if c.in_response_to.as_deref() != Some(id.as_str()) {
            problems.push(format!(
                "a bearer SubjectConfirmationData's InResponseTo is {:?}, not {id:?} (SAML profiles 4.1.4.2: it \
                 MUST match the request's ID)",
                c.in_response_to
            ));
        }
    }
    if !problems.is_empty() {
        fail!("{}", problems.join("; "));
    }
    Ok(())
}

#[then(expr = "the SAML response meets the STS rule {string}")]
async fn meets_rule(w: &mut KensaWorld, name: String) -> StepResult {
    let Some(rule) = Rule::named(&name) else {
        fail!("unknown STS rule {name:?}; rules: {}", Rule::ALL.iter().map(|r| r.name()).collect::<Vec<_>>().join(", "))
    };
    let l = linkage(w)?;
    let s = w.linkage.as_deref().ok_or_else(|| anyhow!("no SAML sign-in happened"))?;
    let p = provider(w, s)?;
    let b64 = s.response.clone().ok_or_else(|| anyhow!("no SAMLResponse was posted"))?;
    // The signature rule verifies; the others read the same, hardened way
    // but leave the signature to its own check.
    let a = if rule == Rule::Signature { rules::read(&b64, &p) } else { rules::inspect(&b64) }
        .map_err(|e| anyhow!("STS would refuse the response: {e}"))?;
    let req = rules::Request { role_arn: l.role_arn(), principal_arn: l.provider_arn(), duration_seconds: None };
    rules::check(rule, &a, &p, &req, w.now()).map_err(|e| anyhow!("STS would refuse the response: {e}"))?;
    Ok(())
}

fn endpoints(w: &KensaWorld) -> anyhow::Result<(Url, Bucket)> {
    let l = linkage(w)?;
    let (sts, s3) = match &w.ctx.aws {
        AwsEndpoints::Remote { sts, s3 } => (sts.clone(), s3.clone()),
        AwsEndpoints::Mock => {
            let s = w.linkage.as_deref().ok_or_else(|| anyhow!("the AWS side is not set up"))?;
            let sts = s.sts.as_ref().ok_or_else(|| anyhow!("the AWS side is not set up"))?;
            let storage = s.storage.as_ref().ok_or_else(|| anyhow!("the AWS side is not set up"))?;
            (Url::parse(&sts.url())?, Url::parse(&storage.url())?)
        }
    };
    Ok((sts, Bucket { endpoint: s3, region: l.region, name: l.bucket }))
}

async fn assume(w: &mut KensaWorld) -> anyhow::Result<()> {
    let l = linkage(w)?;
    let (sts, _) = endpoints(w)?;
    let b64 = scenario(w).response.clone().ok_or_else(|| anyhow!("no SAMLResponse was posted"))?;
    let answer = aws::assume_role_with_saml(&w.api, &sts, &l.role_arn(), &l.provider_arn(), &b64).await?;
    let s = scenario(w);
    match answer {
        Ok(c) => {
            s.credentials = Some(c);
            s.refused = None;
        }
        Err(e) => s.refused = Some(e),
    }
    Ok(())
}

#[when("the system assumes the role with the SAML response")]
async fn assumes(w: &mut KensaWorld) -> StepResult {
    assume(w).await?;
    Ok(())
}

#[when("the consuming system signs in and assumes the role")]
async fn consumer_assumes(w: &mut KensaWorld) -> StepResult {
    sign_in_idp_initiated(w).await?;
    assume(w).await?;
    granted(w).await
}

#[then("STS grants temporary credentials")]
async fn granted(w: &mut KensaWorld) -> StepResult {
    let s = scenario(w);
    if let Some(e) = &s.refused {
        fail!("STS refused AssumeRoleWithSAML: {e}");
    }
    let Some(c) = &s.credentials else { fail!("STS granted nothing") };
    if !c.access_key_id.starts_with("ASIA") {
        fail!("the AccessKeyId {} is not a temporary one (ASIA...)", c.access_key_id);
    }
    Ok(())
}

#[then(expr = "STS refuses with {string}")]
async fn sts_refuses(w: &mut KensaWorld, code: String) -> StepResult {
    let s = scenario(w);
    match &s.refused {
        Some(e) if e.code == code => Ok(()),
        Some(e) => fail!("STS refused, but with {e} instead of {code}"),
        None => fail!("STS accepted the SAML response; {code} was expected"),
    }
}

fn credentials(w: &mut KensaWorld) -> anyhow::Result<aws::Credentials> {
    scenario(w).credentials.clone().ok_or_else(|| anyhow!("no temporary credentials: STS granted none"))
}

#[when(expr = "the system uploads the linkage file {string} of {int} bytes")]
async fn upload(w: &mut KensaWorld, key: String, size: usize) -> StepResult {
    let (_, bucket) = endpoints(w)?;
    let creds = credentials(w)?;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let digest = kensa::aws::sigv4::hex(&Sha256::digest(&data));
    let object_key = object(w, &key);
    if let Err(e) = bucket.put(&w.api, &creds, &object_key, data).await? {
        fail!("storing {key} was refused: {e}");
    }
    scenario(w).uploaded.push((key, digest, size));
    Ok(())
}

#[when(expr = "the system uploads the completion notification for {string}")]
async fn notify(w: &mut KensaWorld, key: String) -> StepResult {
    let (_, bucket) = endpoints(w)?;
    let creds = credentials(w)?;
    let Some((_, digest, size)) = scenario(w).uploaded.iter().find(|(k, ..)| *k == key).cloned() else {
        fail!("{key} was not uploaded")
    };
    let note = serde_json::json!({ "file": key, "size": size, "sha256": digest }).to_string().into_bytes();
    let note_key = object(w, &format!("{key}.done"));
    if let Err(e) = bucket.put(&w.api, &creds, &note_key, note).await? {
        fail!("storing the notification for {key} was refused: {e}");
    }
    Ok(())
}

#[when(expr = "the consumer polls for completion notifications under {string}")]
async fn poll(w: &mut KensaWorld, prefix: String) -> StepResult {
    let (_, bucket) = endpoints(w)?;
    let creds = credentials(w)?;
    let folder = scenario(w).folder.clone();
    match bucket.list(&w.api, &creds, &format!("{folder}{prefix}")).await? {
        Ok(listed) => {
            scenario(w).listed =
                listed.into_iter().map(|(k, n)| (k.strip_prefix(&folder).unwrap_or(&k).to_owned(), n)).collect();
        }
        Err(e) => fail!("listing {prefix} was refused: {e}"),
    }
    Ok(())
}

#[then("the consumer finds no file to process")]
async fn nothing(w: &mut KensaWorld) -> StepResult {
    let done: Vec<String> =
        scenario(w).listed.iter().filter(|(k, _)| k.ends_with(".done")).map(|(k, _)| k.clone()).collect();
    if !done.is_empty() {
        fail!("the consumer found notifications before any was written: {done:?}");
    }
    Ok(())
}

#[then(expr = "the consumer downloads {string} and its size and checksum match the notification")]
async fn download(w: &mut KensaWorld, key: String) -> StepResult {
    let (_, bucket) = endpoints(w)?;
    let creds = credentials(w)?;
    let note_key = format!("{key}.done");
    if !scenario(w).listed.iter().any(|(k, _)| *k == note_key) {
        fail!("the consumer's poll did not list {note_key}");
    }
    let note_object = object(w, &note_key);
    let note = match bucket.get(&w.api, &creds, &note_object).await? {
        Ok(b) => b,
        Err(e) => fail!("reading {note_key} was refused: {e}"),
    };
    let note: serde_json::Value = serde_json::from_slice(&note).context("the notification is not JSON")?;
    let data_object = object(w, &key);
    let data = match bucket.get(&w.api, &creds, &data_object).await? {
        Ok(b) => b,
        Err(e) => fail!("downloading {key} was refused: {e}"),
    };
    let digest = kensa::aws::sigv4::hex(&Sha256::digest(&data));
    if note["size"].as_u64() != Some(data.len() as u64) || note["sha256"].as_str() != Some(digest.as_str()) {
        fail!("{key} has {} bytes, SHA-256 {digest}; the notification says {note}", data.len());
    }
    Ok(())
}

#[when("the mocks' clock passes the credentials' expiry")]
async fn past_expiry(w: &mut KensaWorld) -> StepResult {
    let creds = credentials(w)?;
    let exp = creds.expiration.as_deref().ok_or_else(|| anyhow!("the credentials have no Expiration"))?;
    let exp = kensa_mocks::time::parse_xs_datetime(exp).map_err(|e| anyhow!("Expiration: {e}"))?;
    let s = scenario(w);
    s.store.advance(exp - s.store.now() + 1);
    Ok(())
}

#[then(expr = "the storage refuses the credentials with {string}")]
async fn storage_refuses(w: &mut KensaWorld, code: String) -> StepResult {
    let (_, bucket) = endpoints(w)?;
    let creds = credentials(w)?;
    let folder = scenario(w).folder.clone();
    match bucket.list(&w.api, &creds, &folder).await? {
        Ok(_) => fail!("the storage still accepts the credentials; {code} was expected"),
        Err(e) if e.code == code => Ok(()),
        Err(e) => fail!("the storage refused with {e} instead of {code}"),
    }
}

#[when(expr = "the same SAML response is presented again {int} minutes later")]
async fn replay(w: &mut KensaWorld, minutes: i64) -> StepResult {
    scenario(w).store.advance(minutes * 60);
    assume(w).await?;
    Ok(())
}

#[when("the IdP rotates its SAML signing key")]
async fn rotate(w: &mut KensaWorld) -> StepResult {
    let Some(rotate) = saml_side(w)?.rotate else {
        fail!("target {} gives kensa no way to rotate its SAML signing key", w.ctx.target.name)
    };
    scenario(w).rotated = true;
    rotate.run(&w.api, false).await?;
    Ok(())
}

#[when("the IAM SAML provider is updated with the IdP's current metadata")]
async fn update_provider(w: &mut KensaWorld) -> StepResult {
    let l = linkage(w)?;
    let (sts, _) = endpoints(w)?;
    let (text, md) = fetch_metadata(w).await?;
    if let Err(e) = aws::update_saml_provider(&w.api, &sts, &l.provider_arn(), &text).await? {
        fail!("UpdateSAMLProvider was refused: {e}");
    }
    scenario(w).metadata = Some((text, md));
    Ok(())
}
