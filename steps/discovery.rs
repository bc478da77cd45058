//! Discovery document and JWKS steps.

use anyhow::anyhow;
use cucumber::{given, then};
use kensa::world::{KensaWorld, StepResult};

#[given("the target's discovery document")]
async fn discovery(w: &mut KensaWorld) -> StepResult {
    w.discovery().await?;
    Ok(())
}

#[then("the discovery document's issuer is the target's issuer")]
async fn issuer_matches(w: &mut KensaWorld) -> StepResult {
    let expected = w.issuer().to_owned();
    let d = w.discovery().await?;
    match d.str("issuer") {
        Some(i) if i == expected => Ok(()),
        Some(i) => Err(anyhow!(
            "discovery issuer is {i:?}, but it was fetched for issuer {expected:?}: they must be identical"
        )
        .into()),
        None => Err(anyhow!("the discovery document has no issuer string").into()),
    }
}

#[then(expr = "the discovery document has the members {string}")]
async fn has_members(w: &mut KensaWorld, members: String) -> StepResult {
    let d = w.discovery().await?;
    let missing: Vec<String> = super::list(&members).into_iter().filter(|m| !d.doc.contains_key(m)).collect();
    if missing.is_empty() { Ok(()) } else { Err(anyhow!("REQUIRED members missing: {}", missing.join(", ")).into()) }
}

#[then(expr = "the discovery document lists {string} in {string}")]
async fn lists_value(w: &mut KensaWorld, value: String, member: String) -> StepResult {
    let d = w.discovery().await?;
    let Some(values) = d.list(&member) else {
        fail!("the discovery document has no {member:?} array");
    };
    if values.contains(&value) { Ok(()) } else { Err(anyhow!("{member} is {values:?}, without {value:?}").into()) }
}

#[then("the JWKS contains no private or symmetric key material")]
async fn jwks_public_only(w: &mut KensaWorld) -> StepResult {
    let found = w.jwks().await?.private_material();
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = found.iter().map(|(kid, m)| format!("kid {kid:?} carries {}", m.join(", "))).collect();
    Err(anyhow!("the published JWKS exposes private or symmetric key material: {}", list.join("; ")).into())
}

#[then("every key in the JWKS has a distinct kid")]
async fn distinct_kids(w: &mut KensaWorld) -> StepResult {
    let dups = w.jwks().await?.duplicate_kids();
    if dups.is_empty() { Ok(()) } else { Err(anyhow!("kids used by more than one key: {}", dups.join(", ")).into()) }
}
