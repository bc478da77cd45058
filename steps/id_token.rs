//! ID token steps: one rule of OpenID Connect Core 3.1.3.7 each.

use anyhow::anyhow;
use cucumber::then;
use jsonwebtoken::Algorithm;
use kensa::oidc::jwt::{DEFAULT_LEEWAY_SECS, JwtError};
use kensa::world::{KensaWorld, StepResult};

/// The client's registered alg (RS256 when it registered none).
fn registered_alg(w: &KensaWorld) -> anyhow::Result<String> {
    let c = w.client()?;
    Ok(if c.id_token_signed_response_alg.is_empty() { "RS256".into() } else { c.id_token_signed_response_alg })
}

#[then("the ID token signature verifies with the JWKS key named by its kid")]
async fn signature(w: &mut KensaWorld) -> StepResult {
    let jwt = w.id_token()?;
    let alg: Algorithm = registered_alg(w)?.parse().map_err(|_| anyhow!("unsupported registered alg"))?;
    let jwks = w.jwks().await?.clone();
    jwt.verify_signature(&jwks, &[alg])?;
    Ok(())
}

#[then("the ID token is signed")]
async fn signed(w: &mut KensaWorld) -> StepResult {
    let jwt = w.id_token()?;
    if jwt.alg().is_empty() || jwt.alg().eq_ignore_ascii_case("none") {
        return Err(JwtError::Unsigned.into());
    }
    Ok(())
}

#[then("the ID token's alg is the client's registered algorithm")]
async fn registered(w: &mut KensaWorld) -> StepResult {
    let jwt = w.id_token()?;
    let want = registered_alg(w)?;
    if jwt.alg() == want {
        Ok(())
    } else {
        Err(anyhow!("the ID token's alg is {:?}; the client registered {want:?}", jwt.alg()).into())
    }
}

/// On a failed claim rule, records the expected value beside the ID token's
/// for the report, then fails with the rule's error.
fn claim_rule(
    w: &mut KensaWorld,
    claim: &str,
    expected: serde_json::Value,
    result: Result<(), JwtError>,
) -> StepResult {
    let Err(e) = result else { return Ok(()) };
    let actual = w.id_token().ok().and_then(|t| t.claims.get(claim).cloned()).unwrap_or(serde_json::Value::Null);
    w.diffs.push(kensa::report::ClaimDiff {
        title: format!("ID token claim {claim}"),
        left_label: "expected".into(),
        left: serde_json::json!({ claim: expected }),
        right_label: "ID token".into(),
        right: serde_json::json!({ claim: actual }),
    });
    Err(e.into())
}

#[then("the ID token's iss is the issuer")]
async fn iss(w: &mut KensaWorld) -> StepResult {
    let issuer = w.issuer().to_owned();
    let r = w.id_token()?.check_iss(&issuer);
    claim_rule(w, "iss", issuer.into(), r)
}

#[then("the ID token's aud contains the client_id")]
async fn aud(w: &mut KensaWorld) -> StepResult {
    let client_id = w.client()?.client_id;
    let r = w.id_token()?.check_aud(&client_id);
    claim_rule(w, "aud", format!("an array or string containing {client_id:?}").into(), r)
}

#[then("the ID token has not expired")]
async fn exp(w: &mut KensaWorld) -> StepResult {
    w.id_token()?.check_exp(w.now(), DEFAULT_LEEWAY_SECS)?;
    Ok(())
}

#[then("the ID token's nonce is the one that was sent")]
async fn nonce(w: &mut KensaWorld) -> StepResult {
    let sent = w.auth.as_ref().and_then(|a| a.nonce.clone()).ok_or_else(|| anyhow!("no nonce was sent"))?;
    let r = w.id_token()?.check_nonce(&sent);
    claim_rule(w, "nonce", sent.into(), r)
}

#[then("the ID token's at_hash, if present, matches the access token")]
async fn at_hash(w: &mut KensaWorld) -> StepResult {
    let at = w.tokens()?.access_token.expose().to_owned();
    w.id_token()?.check_at_hash(&at, false)?;
    Ok(())
}

#[then("the ID token has the REQUIRED claims")]
async fn required(w: &mut KensaWorld) -> StepResult {
    let jwt = w.id_token()?;
    jwt.check_required_claims()?;
    if let Err(e) = jwt.check_iat(w.now(), DEFAULT_LEEWAY_SECS) {
        // The claim is there; its value is not the time of issue.
        fail!(
            "{e}{}",
            kensa::report::cites(
                "OIDC-Core-2",
                "MUST",
                "iat: \"Time at which the JWT was issued.\" An iat ahead of the current time is not when the token was issued; \
                 3.1.3.7 step 10: \"The iat Claim can be used to reject tokens that were issued too far away from the current time\""
            )
        );
    }
    Ok(())
}
