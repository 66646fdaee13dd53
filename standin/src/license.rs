//! Enterprise licenses in the real format, signed with a TEST key.
//!
//! The real server (server/channels/utils/license.go `ValidateLicense`) takes
//! the license file as base64 of `payload || signature`: after decoding and
//! dropping trailing NUL bytes, the last 256 bytes are an RSA PKCS#1 v1.5
//! signature over SHA-512 of the payload, checked with a public key compiled
//! into the binary; the payload is the JSON of `model.License` (`id`,
//! `issued_at`, `starts_at`, `expires_at`, `sku_short_name`, `features` with
//! `users` and `cluster`, ...). Real licenses are signed by Mattermost and
//! cannot be checked here, so the stand-in compiles in the public half of a
//! test key (src/testkey/) and [`make_test_license`] signs with its private
//! half — for tests only, like the real server's `testPublicKey`.
//!
//! Loading (server/channels/app/platform/license.go `LoadLicense`): `MM_LICENSE`
//! in the environment wins; otherwise the file at
//! `ServiceSettings.LicenseFileLocation` (default
//! `config/mattermost.mattermost-license`, `utils.GetLicenseFileLocation`).
//! The real server then stores the license in the database and uses the stored
//! copy on later starts even if the file is gone; the stand-in reads the file on
//! every start instead.

use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

use crate::error::{Error, Result, fail};
use crate::util::{base64_decode, base64_encode};

const TEST_PUBLIC_KEY: &[u8] = include_bytes!("testkey/license-test-key.pub.der");
const TEST_PRIVATE_KEY: &[u8] = include_bytes!("testkey/license-test-key.pk8");
const SIGNATURE_LEN: usize = 256;

/// A validated license (the `model.License` fields the stand-in uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub id: String,
    pub issued_at: i64,
    pub starts_at: i64,
    pub expires_at: i64,
    pub sku_short_name: String,
    pub users: Option<i64>,
    pub cluster: bool,
    pub payload: Value,
}

impl License {
    pub fn is_expired(&self, now_millis: i64) -> bool {
        self.expires_at < now_millis
    }
}

/// What [`make_test_license`] puts into a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestLicense {
    pub id: String,
    pub issued_at: i64,
    pub starts_at: i64,
    pub expires_at: i64,
    pub users: i64,
    /// `features.cluster` (High Availability).
    pub cluster: bool,
    pub sku_short_name: String,
}

impl TestLicense {
    /// An Enterprise license with the cluster feature, valid from a day ago
    /// for `days` days.
    pub fn enterprise(days: i64) -> Self {
        let now = i64::try_from(crate::util::now_millis()).unwrap_or(i64::MAX);
        Self {
            id: crate::store::new_id(),
            issued_at: now - 86_400_000,
            starts_at: now - 86_400_000,
            expires_at: now + days * 86_400_000,
            users: 1000,
            cluster: true,
            sku_short_name: "enterprise".into(),
        }
    }
}

/// Makes a license file's text (base64, one line) signed with the stand-in's
/// test key. For tests: the stand-in accepts it, a real server does not.
pub fn make_test_license(spec: &TestLicense) -> Result<String> {
    let payload = json!({
        "id": spec.id,
        "issued_at": spec.issued_at,
        "starts_at": spec.starts_at,
        "expires_at": spec.expires_at,
        "sku_name": "Enterprise (stand-in test license)",
        "sku_short_name": spec.sku_short_name,
        "customer": {"id": "standintestcustomer0000000", "name": "Stand-in tests", "email": "tests@example.com", "company": "Stand-in"},
        "features": {"users": spec.users, "cluster": spec.cluster, "ldap": true, "metrics": true, "compliance": true},
        "is_trial": false,
        "is_gov_sku": false
    })
    .to_string();
    let key = RsaKeyPair::from_pkcs8(TEST_PRIVATE_KEY)
        .map_err(|e| Error::new(format!("stand-in test key: {e}")))?;
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA512,
        &SystemRandom::new(),
        payload.as_bytes(),
        &mut sig,
    )
    .map_err(|e| Error::new(format!("signing the test license: {e}")))?;
    let mut all = payload.into_bytes();
    all.extend_from_slice(&sig);
    Ok(base64_encode(&all))
}

/// `ValidateLicense` + `json.Unmarshal`, with the real error texts.
pub fn validate(signed: &[u8]) -> Result<License> {
    // Go's base64.StdEncoding skips \r and \n.
    let text: String = String::from_utf8_lossy(signed)
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    let mut decoded = base64_decode(text.trim_end_matches('\0'))
        .ok_or_else(|| Error::new("encountered error decoding license: illegal base64 data"))?;
    while decoded.last() == Some(&0) {
        decoded.pop();
    }
    if decoded.len() <= SIGNATURE_LEN {
        return fail("Signed license not long enough");
    }
    let (plaintext, sig) = decoded.split_at(decoded.len() - SIGNATURE_LEN);
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA512, TEST_PUBLIC_KEY)
        .verify(plaintext, sig)
        .map_err(|_| Error::new("Invalid signature: crypto/rsa: verification error"))?;
    let payload: Value = serde_json::from_slice(plaintext)
        .map_err(|e| Error::new(format!("Failed to decode license from JSON: {e}")))?;
    let int = |k: &str| payload.get(k).and_then(Value::as_i64).unwrap_or(0);
    let features = payload.get("features");
    Ok(License {
        id: payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        issued_at: int("issued_at"),
        starts_at: int("starts_at"),
        expires_at: int("expires_at"),
        sku_short_name: payload
            .get("sku_short_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        users: features
            .and_then(|f| f.get("users"))
            .and_then(Value::as_i64),
        cluster: features
            .and_then(|f| f.get("cluster"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let spec = TestLicense::enterprise(30);
        let text = make_test_license(&spec).expect("make");
        let lic = validate(text.as_bytes()).expect("valid");
        assert_eq!(lic.id, spec.id);
        assert!(lic.cluster);
        assert_eq!(lic.users, Some(1000));
        let now = i64::try_from(crate::util::now_millis()).expect("now");
        assert!(!lic.is_expired(now));
        // With a line break in the middle (as a wrapped file) it still reads.
        let wrapped = format!("{}\n{}\n", &text[..40], &text[40..]);
        assert!(validate(wrapped.as_bytes()).is_ok());
        // One flipped byte in the payload breaks the signature.
        let mut raw = base64_decode(&text).expect("b64");
        raw[10] ^= 1;
        assert_eq!(
            validate(base64_encode(&raw).as_bytes())
                .expect_err("tampered")
                .message(),
            "Invalid signature: crypto/rsa: verification error"
        );
        assert_eq!(
            validate(b"c2hvcnQ=").expect_err("short").message(),
            "Signed license not long enough"
        );
        let mut old = TestLicense::enterprise(1);
        old.expires_at = now - 1000;
        let lic = validate(make_test_license(&old).expect("make").as_bytes()).expect("valid");
        assert!(lic.is_expired(now));
    }
}
