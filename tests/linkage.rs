//! The file linkage against endpoints kensa does not start, as a vendor
//! runs it against real AWS (`--aws sts=URL,s3=URL`): the reference IdP is
//! served by `kensa serve` and reached through a SAML-only profile; this
//! test plays AWS with kensa's STS and storage mocks, the IAM provider
//! registered beforehand, as a vendor registers theirs.

use std::process::Command;
use std::sync::Arc;

use crate::common::{assert_no_secrets, root, summary};
use crate::remote::serve;

#[test]
fn the_linkage_runs_against_endpoints_kensa_does_not_start() {
    let served = serve("embedded");
    let linkage = kensa_mocks::sts::rules::Linkage::load(&root().join("fixtures/file-linkage.toml")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (sts, storage) = rt.block_on(async {
        let client = kensa_mocks::client_builder().build().unwrap();
        let metadata =
            client.get(format!("{}/saml/metadata", served.issuer)).send().await.unwrap().text().await.unwrap();
        let store = Arc::new(kensa_mocks::sts::CredentialStore::default());
        let sts = kensa_mocks::sts::RunningSts::start(&linkage.provider_arn(), &metadata, store.clone()).await.unwrap();
        let storage = kensa_mocks::storage::RunningStorage::start(store).await.unwrap();
        (sts, storage)
    });
    let realm = kensa_mocks::realm::Realm::load(&root().join("fixtures/realm.toml")).unwrap();
    let alice = realm.user("alice").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("saml-idp.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"saml-idp\"\nissuer = \"{}\"\nlogin_profile = \"generic\"\ncapabilities = [\"saml-only\"]\n\n\
             [saml]\nmetadata = \"{{issuer}}/saml/metadata\"\nsso = \"{{issuer}}/saml/sso?sp=urn:amazon:webservices\"\n\n\
             [[users]]\nusername = \"alice\"\npassword_env = \"KENSA_TEST_ALICE_PASSWORD\"\nsub = \"{}\"\n",
            served.issuer, alice.sub
        ),
    )
    .unwrap();
    let reports = dir.path().join("reports");
    let out = Command::new(env!("CARGO_BIN_EXE_kensa"))
        .args(["run", "--quiet", "--profile", profile.to_str().unwrap(), "--report-dir", reports.to_str().unwrap()])
        .args(["--aws", &format!("sts={},s3={}", sts.url(), storage.url())])
        .current_dir(root())
        .env("KENSA_TEST_ALICE_PASSWORD", &alice.password)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.code() != Some(0) {
        let s = summary(&reports);
        let failed: Vec<String> = s["targets"][0]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] == "fail")
            .map(|c| format!("{}: {}", c["id"], c["message"]))
            .collect();
        panic!("exit {:?}\n{stdout}\nfailed:\n{}", out.status.code(), failed.join("\n"));
    }
    let s = summary(&reports);
    let checks = s["targets"][0]["checks"].as_array().unwrap();
    let verdict = |id: &str| checks.iter().find(|c| c["id"] == id).map(|c| c["verdict"].as_str().unwrap().to_owned());
    for id in ["SAML-01", "SAML-02", "SAML-05", "SAML-08", "SAML-10", "LINK-01", "LINK-02"] {
        assert_eq!(verdict(id).as_deref(), Some("pass"), "{id}\n{stdout}");
    }
    // What only the mocks allow is skipped, saying so.
    for id in ["LINK-03", "LINK-04", "LINK-05"] {
        let c = checks.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(c["verdict"], "skipped", "{id}");
        assert!(c["message"].as_str().unwrap().contains("--aws mock"), "{id}: {}", c["message"]);
    }
    // The OpenID Connect checks do not apply to a SAML-only IdP.
    let oidc = checks.iter().find(|c| c["id"] == "OIDC-TOKEN-01").unwrap();
    assert_eq!(oidc["verdict"], "skipped");
    assert!(oidc["message"].as_str().unwrap().contains("oidc"), "{}", oidc["message"]);
    assert_no_secrets(&reports);
    drop((sts, storage));
    drop(rt);
}
