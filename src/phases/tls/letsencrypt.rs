//! Let's Encrypt (or any ACME server) through certbot from the distribution.
//!
//! `certbot certonly --webroot` into a lineage named after the domain: certbot writes
//! challenge files into [`ACME_WEBROOT`], which the proxy site serves, and never
//! touches the proxy's configuration. A lineage that is in place (files readable, key
//! matching, valid for the domain, from the same ACME server) is reused as it is.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::cert::{self, Anchor, Assessment, Trust};
use super::{P, Renewal, State, load_state, save_state, validity_check};
use crate::events::Event;
use crate::host::{Cmd, FileSpec};
use crate::phases::database::{ensure_unit, unit_checks};
use crate::phases::{Check, Ctx, PhaseError};
use crate::plan::{self, ACME_WEBROOT, CERTBOT_DEPLOY_HOOK, CERTBOT_DROPIN};
use crate::probes::dns;

pub use crate::plan::LETSENCRYPT;
const TIMER: &str = "certbot.timer";
/// certbot has its own network timeouts; this bounds a hung run.
const CERTBOT_TIMEOUT_S: &str = "300";

/// The ACME directory the answers ask for.
pub fn server(ctx: &Ctx) -> String {
    ctx.plan
        .certbot
        .as_ref()
        .map_or_else(|| LETSENCRYPT.to_owned(), |c| c.server.clone())
}

/// certbot's lineage for the domain, as it is on the box.
pub struct Lineage {
    pub renewal_conf: PathBuf,
    /// `server = ...` of the renewal configuration; `None` when there is no lineage.
    pub server: Option<String>,
    pub assessment: Assessment,
    pub cert: PathBuf,
}

impl Lineage {
    pub fn read(ctx: &Ctx) -> Self {
        let d = &ctx.answers.domain;
        let renewal_conf = PathBuf::from(format!("/etc/letsencrypt/renewal/{d}.conf"));
        let server = ctx.host.read(&renewal_conf).ok().flatten().map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == "server")
                .map_or_else(|| LETSENCRYPT.to_owned(), |(_, v)| v.trim().to_owned())
        });
        let site = plan::site_cert(ctx.answers).unwrap_or_else(|| plan::templates::SiteCert {
            cert: PathBuf::new(),
            key: PathBuf::new(),
        });
        // The lineage's own chain is the anchor: a staging or private CA's lineage is
        // still "in place"; whether browsers trust it is the acceptance phase's check.
        let trust = Trust::load(ctx.host, ctx.answers.acme_ca_bundle.as_deref());
        let assessment = cert::assess(ctx.host, &site.cert, &site.key, d, &trust, Anchor::OwnChain);
        Self {
            renewal_conf,
            server,
            assessment,
            cert: site.cert,
        }
    }

    pub fn exists(&self) -> bool {
        self.server.is_some()
    }

    /// Usable as it is: no need to ask the ACME server again.
    pub fn in_place(&self, ctx: &Ctx) -> bool {
        self.assessment.usable() && self.server.as_deref() == Some(server(ctx).as_str())
    }

    fn describe(&self, ctx: &Ctx) -> String {
        match &self.server {
            None => format!(
                "no certificate yet ({} is missing)",
                self.renewal_conf.display()
            ),
            Some(s) if *s != server(ctx) => {
                format!("issued by {s}, but the answers ask for {}", server(ctx))
            }
            Some(_) => self
                .assessment
                .problems
                .iter()
                .map(|p| format!("{} {}", p.path.display(), p.problem))
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

pub fn checks(ctx: &Ctx, state: &State) -> Result<Vec<Check>, PhaseError> {
    let lineage = Lineage::read(ctx);
    let name = format!("certificate {}", lineage.cert.display());
    let mut checks = Vec::new();
    if lineage.in_place(ctx) {
        checks.push(validity_check(
            P,
            name,
            &lineage.assessment,
            &format!("certbot lineage from {}, key matches", server(ctx)),
            "certbot.timer renews it; `certbot renew` does it now",
        ));
    } else {
        let detail = match &state.deferred {
            Some(why) => format!("{}; last run deferred it: {why}", lineage.describe(ctx)),
            None => lineage.describe(ctx),
        };
        checks.push(Check::fail(P, name, detail).with_fix(
            "mattermost-setup install (or repair) asks for it once the domain points here",
        ));
        return Ok(checks);
    }
    checks.push(ctx.managed_check(P, &deploy_hook_spec(ctx)?)?);
    if let Some(spec) = dropin_spec(ctx) {
        checks.push(ctx.managed_check(P, &spec)?);
    }
    checks.extend(unit_checks(ctx, P, TIMER)?);
    let want = server(ctx);
    checks.push(match &state.renewal {
        Some(r) if r.ok && r.server == want => Check::ok(
            P,
            "renewal (certbot renew --dry-run)",
            format!("succeeded against {} on {}", r.server, r.at),
        ),
        Some(r) if r.server == want => Check::fail(
            P,
            "renewal (certbot renew --dry-run)",
            format!("failed on {}: {}", r.at, r.detail),
        )
        .with_fix("read /var/log/letsencrypt/letsencrypt.log; the next install run tries again"),
        _ => Check::fail(P, "renewal (certbot renew --dry-run)", "not verified yet"),
    });
    Ok(checks)
}

fn deploy_hook_spec(ctx: &Ctx) -> Result<FileSpec, PhaseError> {
    ctx.planned(CERTBOT_DEPLOY_HOOK)
}

/// The certbot drop-in, when the plan has one (an `acme_ca_bundle`).
fn dropin_spec(ctx: &Ctx) -> Option<FileSpec> {
    ctx.plan
        .file(CERTBOT_DROPIN)
        .map(crate::phases::planned_spec)
}

fn certbot(ctx: &Ctx, args: &[&str]) -> Cmd {
    let mut cmd = Cmd::new("timeout", &[CERTBOT_TIMEOUT_S, "certbot"]);
    for a in args {
        cmd = cmd.arg(*a);
    }
    if let Some(b) = &ctx.answers.acme_ca_bundle {
        cmd = cmd.env("REQUESTS_CA_BUNDLE", b.to_string_lossy());
    }
    cmd
}

/// The last lines of certbot's output, for a message.
fn tail(out: &crate::host::Output) -> String {
    let text = format!("{}\n{}", out.stdout, out.stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("- - -") && !l.starts_with("Saving debug log"))
        .collect();
    lines[lines.len().saturating_sub(4)..].join(" ")
}

/// Whether to ask the ACME server now, and why not.
fn reachable(ctx: &Ctx, report: &dns::DnsReport) -> Result<(), String> {
    let custom = ctx.answers.acme_server.is_some();
    let ok = if custom {
        // A private or test CA may well validate private names; it still needs one.
        report.verdict() != dns::Verdict::Unresolved
    } else {
        report.public_ca_can_reach()
    };
    if ok {
        Ok(())
    } else {
        Err(report.findings.join(" "))
    }
}

fn ensure_webroot(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let dir = Path::new(ACME_WEBROOT);
    let real = ctx.host.path(dir);
    if !real.is_dir() {
        ctx.claim("directory", ACME_WEBROOT)?;
        ctx.host
            .create_dir_all(dir)
            .map_err(|e| PhaseError::new(format!("cannot create {ACME_WEBROOT}: {e}")))?;
        ctx.host
            .set_mode(dir, 0o755)
            .map_err(|e| PhaseError::new(format!("cannot chmod {ACME_WEBROOT}: {e}")))?;
        ctx.host.note(&format!("[tls] created {ACME_WEBROOT}"));
    }
    Ok(())
}

/// certbot's commands in the plan.
fn planned<'p>(ctx: &Ctx<'p>) -> Result<&'p crate::plan::CertbotPlan, String> {
    ctx.plan
        .certbot
        .as_ref()
        .ok_or_else(|| "the plan has no certbot commands".to_owned())
}

/// The plan's `certbot certonly --webroot`, with `--force-renewal` to replace a
/// lineage that is not usable (expired, other CA, broken); `Err` carries certbot's
/// own explanation.
fn obtain(ctx: &Ctx, replace: bool) -> Result<(), String> {
    let plan = planned(ctx)?;
    let mut args: Vec<&str> = plan.request.iter().map(String::as_str).collect();
    if replace {
        args.push("--force-renewal");
    }
    ctx.step(
        P,
        format!(
            "asking {} for a certificate for {}",
            plan.server, ctx.answers.domain
        ),
    );
    match ctx.host.probe(&certbot(ctx, &args)) {
        Ok(out) if out.success() => Ok(()),
        Ok(out) => Err(format!("certbot failed: {}", tail(&out))),
        Err(e) => Err(e.to_string()),
    }
}

/// The plan's renewal check (`certbot renew --dry-run`).
fn dry_run(ctx: &Ctx) -> Result<Renewal, PhaseError> {
    let plan = planned(ctx).map_err(PhaseError::new)?;
    let args: Vec<&str> = plan.renewal_check.iter().map(String::as_str).collect();
    ctx.step(P, "checking renewal (certbot renew --dry-run)");
    let out = ctx.host.probe(&certbot(ctx, &args))?;
    Ok(Renewal {
        ok: out.success(),
        server: plan.server.clone(),
        at: cert::date(SystemTime::now()),
        detail: tail(&out),
    })
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let mut state = load_state(ctx);
    let lineage = Lineage::read(ctx);
    let mut obtained = false;
    if !lineage.in_place(ctx) {
        let report = dns::check(ctx.host, &ctx.answers.domain);
        let outcome = reachable(ctx, &report).and_then(|()| {
            ensure_webroot(ctx).map_err(|e| e.cause)?;
            obtain(ctx, lineage.exists())
        });
        match outcome {
            Ok(()) => {
                state.deferred = None;
                obtained = true;
            }
            Err(why) => {
                let d = &ctx.answers.domain;
                (ctx.host.events())(Event::Warning {
                    message: format!(
                        "TLS deferred: {why} The site stays on http://{d}; run `mattermost-setup install` again (repair) once {d} points here, and the certificate is obtained then."
                    ),
                });
                ctx.host.note(&format!("[tls] deferred: {why}"));
                state.deferred = Some(why);
                save_state(ctx, &state)?;
                return Ok(());
            }
        }
    }
    if !Lineage::read(ctx).in_place(ctx) {
        return Err(PhaseError::new(format!(
            "certbot reported success but the lineage is not usable: {}",
            Lineage::read(ctx).describe(ctx)
        )));
    }
    ctx.write_managed(P, &deploy_hook_spec(ctx)?)?;
    if let Some(spec) = dropin_spec(ctx) {
        if ctx.write_managed(P, &spec)?.changed() {
            ctx.host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
        }
    }
    ensure_unit(ctx, P, TIMER)?;
    let want = server(ctx);
    let verified = state
        .renewal
        .as_ref()
        .is_some_and(|r| r.ok && r.server == want);
    if obtained || !verified {
        // A failure is recorded, and the renewal check of the gate reports it; the
        // certificate itself is in place and is served meanwhile.
        state.renewal = Some(dry_run(ctx)?);
        save_state(ctx, &state)?;
    } else if state.deferred.take().is_some() {
        save_state(ctx, &state)?;
    }
    Ok(())
}
