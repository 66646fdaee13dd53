//! TLS at the proxy, three ways (answers key `tls`):
//!
//! - `letsencrypt`: certbot from the distribution, `certonly --webroot` into a lineage
//!   named after the domain. certbot never edits the proxy's configuration: the tool
//!   owns its site file (the proxy phase renders it with TLS once the lineage is in
//!   place). A lineage that is in place is reused — certbot is not even started on a
//!   re-run. Renewal is verified once with `certbot renew --dry-run` against the same
//!   ACME server, and certbot.timer must be active. Before asking, the DNS name is
//!   checked: when a public CA cannot reach this server by that name, the request is
//!   deferred (never a hard stop; the site stays on http) and the next run asks again.
//! - `existing`: the operator's certificate and key, checked (readable, key matches,
//!   chain to a trusted root, valid now, covers the domain) and refused with the key
//!   of the answers that names the bad file.
//! - `none`: plain http, with a warning.
//!
//! SiteURL becomes https only once the certificate is in place;
//! ServiceSettings.ConnectionSecurity stays empty (TLS ends at the proxy).

pub mod cert;
mod letsencrypt;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Check, Ctx, Level, Phase, PhaseError, PhaseId};
use crate::answers::Tls as Mode;
use crate::host::FileSpec;
use crate::plan::templates::SiteCert;
use crate::plan::{self, SERVICE_USER};
use crate::probes::dns;
use cert::{Anchor, Assessment, Trust, Which};

const P: PhaseId = PhaseId::Tls;
/// What the TLS phase remembers between runs: why Let's Encrypt was deferred, and
/// the last renewal dry-run.
pub const STATE: &str = "/var/lib/mattermost-setup/tls.json";
/// A certificate with fewer days left is due for renewal (certbot's own threshold).
pub const RENEW_DAYS: i64 = 30;
const PING_WAIT: Duration = Duration::from_secs(300);

pub struct Tls;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Why the last run did not ask for a certificate (or why the CA refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
    /// The last `certbot renew --dry-run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<Renewal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renewal {
    pub ok: bool,
    /// The ACME directory the dry-run asked.
    pub server: String,
    pub at: String,
    pub detail: String,
}

pub fn load_state(ctx: &Ctx) -> State {
    ctx.host
        .read(Path::new(STATE))
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(ctx: &Ctx, state: &State) -> Result<(), PhaseError> {
    let mut text = serde_json::to_string_pretty(state).unwrap_or_default();
    text.push('\n');
    ctx.host.write_file(&FileSpec {
        path: PathBuf::from(STATE),
        content: text.into_bytes(),
        mode: 0o600,
        owner: None,
    })?;
    Ok(())
}

/// The operator's certificate and key, checked against the system's trusted roots.
pub fn assess_existing(ctx: &Ctx) -> Option<Assessment> {
    let a = ctx.answers;
    let (cert, key) = (a.tls_cert.as_ref()?, a.tls_key.as_ref()?);
    let trust = Trust::load(ctx.host, None);
    Some(cert::assess(
        ctx.host,
        cert,
        key,
        &a.domain,
        &trust,
        Anchor::Trusted,
    ))
}

/// The certificate the proxy should serve now, when it is in place.
pub fn cert_in_place(ctx: &Ctx) -> Option<SiteCert> {
    let usable = match ctx.answers.tls {
        Mode::None => false,
        Mode::Existing => assess_existing(ctx).is_some_and(|a| a.usable()),
        Mode::Letsencrypt => letsencrypt::Lineage::read(ctx).in_place(ctx),
    };
    if usable {
        plan::site_cert(ctx.answers)
    } else {
        None
    }
}

/// The plan's state before the certificate while it is not in place; `None` once it
/// is, or without TLS: then the plan's own state applies. The one place that
/// chooses between the two (the certificate is made during the run).
pub fn until_certificate<'p>(ctx: &Ctx<'p>) -> Option<&'p plan::UntilCertificate> {
    ctx.plan
        .until_certificate
        .as_ref()
        .filter(|_| cert_in_place(ctx).is_none())
}

/// The URL the server is reachable at now: the plan's SiteURL, or its http one until
/// the certificate is in place.
pub fn public_url(ctx: &Ctx) -> String {
    until_certificate(ctx).map_or_else(|| ctx.plan.site_url.clone(), |u| u.site_url.clone())
}

/// [`public_url`] outside a run (the end message of `install`).
pub fn public_url_now(
    host: &crate::host::Host,
    answers: &crate::answers::Answers,
    plan: &plan::Plan,
) -> String {
    public_url(&Ctx::new(host, answers, plan))
}

fn field(which: Which) -> &'static str {
    match which {
        Which::Cert => "tls_cert",
        Which::Key => "tls_key",
    }
}

/// The checks of an `existing` certificate, each failure named by the answers key of
/// the bad file. `preflight` without the system's CA bundle yet (ca-certificates comes
/// with the packages phase) checks everything but the trust, and says so.
pub fn existing_checks(ctx: &Ctx, phase: PhaseId, preflight: bool) -> Vec<Check> {
    let a = ctx.answers;
    if a.tls != Mode::Existing {
        return Vec::new();
    }
    let (Some(cert_path), Some(key_path)) = (&a.tls_cert, &a.tls_key) else {
        return vec![Check::fail(
            phase,
            "tls_cert",
            "tls is existing but tls_cert or tls_key is not set",
        )];
    };
    let mut checks = Vec::new();
    let bundle = ctx.host.path(Path::new(cert::SYSTEM_BUNDLE)).is_file();
    let anchor = if preflight && !bundle {
        checks.push(Check::warn(
            phase,
            "tls_cert chain",
            format!(
                "{} is not there yet (ca-certificates comes with the packages): the chain is checked by the tls phase",
                cert::SYSTEM_BUNDLE
            ),
        ));
        Anchor::OwnChain
    } else {
        Anchor::Trusted
    };
    let trust = Trust::load(ctx.host, None);
    let assessment = cert::assess(ctx.host, cert_path, key_path, &a.domain, &trust, anchor);
    for p in &assessment.problems {
        checks.push(
            Check::fail(
                phase,
                format!("{} {}", field(p.file), p.path.display()),
                p.problem.clone(),
            )
            .with_fix(format!("{} (answers key {})", p.fix, field(p.file))),
        );
    }
    if assessment.usable() {
        checks.push(validity_check(
            phase,
            format!("tls_cert {}", cert_path.display()),
            &assessment,
            &format!(
                "valid for {}, {}, key {} matches",
                a.domain,
                assessment.summary,
                key_path.display()
            ),
            "renew the certificate and replace the files (same paths), then run install again",
        ));
    }
    checks
}

/// Ok with more than [`RENEW_DAYS`] left, a warning below that.
fn validity_check(phase: PhaseId, name: String, a: &Assessment, what: &str, fix: &str) -> Check {
    let now = SystemTime::now();
    match (a.not_after, a.days_left(now)) {
        (Some(t), Some(days)) if days > RENEW_DAYS => Check::ok(
            phase,
            name,
            format!("{what}; expires {} ({days} days left)", cert::date(t)),
        ),
        (Some(t), Some(days)) => Check::warn(
            phase,
            name,
            format!("{what}; expires {} — only {days} days left", cert::date(t)),
        )
        .with_fix(fix),
        _ => Check::ok(phase, name, what),
    }
}

fn dns_check(report: &dns::DnsReport) -> Check {
    let name = format!("DNS {}", report.domain);
    if report.verdict() == dns::Verdict::PointsHere {
        Check::ok(P, name, report.summary())
    } else {
        Check::warn(P, name, report.summary())
    }
}

/// ServiceSettings.SiteURL in config.json.
fn current_site_url(ctx: &Ctx) -> Option<String> {
    let bytes = ctx.host.read(&ctx.plan.config_json).ok()??;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("ServiceSettings")?
        .get("SiteURL")?
        .as_str()
        .map(str::to_owned)
}

fn site_url_check(ctx: &Ctx, phase: PhaseId) -> Check {
    let want = public_url(ctx);
    let now = current_site_url(ctx);
    Check::when(
        phase,
        now.as_deref() == Some(want.as_str()),
        "SiteURL is the public URL",
        match &now {
            Some(u) if *u == want => u.clone(),
            Some(u) => format!("config.json says \"{u}\"; the server is reachable at {want}"),
            None => "not set in config.json".into(),
        },
    )
}

/// Writes SiteURL (keeping every other key) and restarts Mattermost when it changed.
/// Nothing on the proxy machine of several: Mattermost, and its config.json, are on
/// the app machines, whose plan sets the https SiteURL.
fn set_site_url(ctx: &mut Ctx) -> Result<(), PhaseError> {
    if !ctx.answers.runs_mattermost() {
        return Ok(());
    }
    let want = public_url(ctx);
    if current_site_url(ctx).as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    let path = ctx.plan.config_json.clone();
    let bytes = ctx
        .host
        .read(&path)?
        .ok_or_else(|| PhaseError::new(format!("{} is missing", path.display())))?;
    let mut cfg: Value = serde_json::from_slice(&bytes)
        .map_err(|e| PhaseError::new(format!("{} is not valid JSON: {e}", path.display())))?;
    plan::apply_config_edits(
        &mut cfg,
        &[plan::ConfigEdit {
            section: "ServiceSettings",
            key: "SiteURL",
            value: Value::from(want.clone()),
            secret: false,
        }],
    );
    ctx.step(P, format!("setting SiteURL to {want}"));
    ctx.host.write_file(&FileSpec {
        path,
        content: plan::config_to_string(&cfg).into_bytes(),
        mode: 0o600,
        owner: ctx.host.lookup_user(SERVICE_USER),
    })?;
    restart_mattermost(ctx)
}

fn restart_mattermost(ctx: &Ctx) -> Result<(), PhaseError> {
    super::service::restart_and_wait(ctx, P, "for the new SiteURL", PING_WAIT, None)
}

impl Tls {
    /// The probe; `after_apply` turns a deferred Let's Encrypt request into a warning
    /// (the run goes on with http) where a fresh probe reports it as work to do.
    fn checks(ctx: &Ctx, after_apply: bool) -> Result<Vec<Check>, PhaseError> {
        let a = ctx.answers;
        let report = dns::check(ctx.host, &a.domain);
        let mut checks = vec![dns_check(&report)];
        match a.tls {
            Mode::None => {
                checks.push(
                    Check::warn(
                        P,
                        "TLS",
                        format!(
                            "none: the site is http://{}, so passwords and messages cross the network unencrypted",
                            a.domain
                        ),
                    )
                    .with_fix("set tls to letsencrypt (or existing) in the answers and run install again"),
                );
                return Ok(checks);
            }
            Mode::Existing => {
                checks.extend(existing_checks(ctx, P, false));
            }
            Mode::Letsencrypt => {
                let mut le = letsencrypt::checks(ctx, &load_state(ctx))?;
                if after_apply {
                    let state = load_state(ctx);
                    if let Some(why) = &state.deferred {
                        for c in le.iter_mut().filter(|c| c.name.starts_with("certificate ")) {
                            if c.level == Level::Fail {
                                c.level = Level::Warn;
                                c.detail = format!(
                                    "deferred: {why} The site stays on http://{d} for now; run `mattermost-setup install` again (repair) once {d} points here, and the certificate is obtained then.",
                                    d = a.domain
                                );
                            }
                        }
                    }
                }
                checks.extend(le);
            }
        }
        if a.runs_mattermost() {
            checks.push(site_url_check(ctx, P));
        }
        Ok(checks)
    }
}

impl Phase for Tls {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_proxy()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        Self::checks(ctx, false)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        match ctx.answers.tls {
            Mode::None => Ok(()),
            Mode::Existing => {
                let bad: Vec<Check> = existing_checks(ctx, P, false)
                    .into_iter()
                    .filter(|c| c.level == Level::Fail)
                    .collect();
                if !bad.is_empty() {
                    return Err(PhaseError::new(
                        bad.iter()
                            .map(|c| format!("{}: {}", c.name, c.detail))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    )
                    .fix(
                        bad.iter()
                            .filter_map(|c| c.fix.clone())
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ));
                }
                super::proxy::converge(ctx, P)?;
                set_site_url(ctx)
            }
            Mode::Letsencrypt => {
                letsencrypt::apply(ctx)?;
                super::proxy::converge(ctx, P)?;
                set_site_url(ctx)
            }
        }
    }

    fn verify(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        Self::checks(ctx, true)
    }
}

/// For preflight: an `existing` certificate is refused before anything changes.
pub fn preflight_checks(ctx: &Ctx) -> Vec<Check> {
    existing_checks(ctx, PhaseId::Preflight, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_tolerates_an_empty_file() {
        let s = State {
            deferred: Some("no A record".into()),
            renewal: Some(Renewal {
                ok: true,
                server: "https://127.0.0.1:14000/dir".into(),
                at: "2026-11-25T13:00:00Z".into(),
                detail: "simulated renewal succeeded".into(),
            }),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), s);
        assert_eq!(
            serde_json::from_str::<State>("{}").unwrap(),
            State::default()
        );
    }
}
