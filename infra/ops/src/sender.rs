//! How the CLI sends email: `bootstrap`'s verification of the sender on an emulator's SES,
//! and the notifier that tells the partner of a top-up decision made from the command line.

use std::sync::Arc;

use anyhow::Context;
use steller::Config;
use steller::aws::{self, SdkConfig};
use steller::config::{DEFAULT_SENDER_EMAIL, SENDER_EMAIL_VAR, TABLE_VAR};
use steller::domain::Email;
use steller::email::{EmailError, EmailSender, Outbox, SesSender, verify_sender};

/// Why a decision on AWS stops before it is made: the partner's email must come from the
/// stack's own verified sender, and there is no default address that SES would accept.
const NO_SENDER: &str = "STELLER_SENDER_EMAIL is not set: on AWS the partner is emailed through SES from the \
                         stack's sender, so export STELLER_SENDER_EMAIL as the stack's SenderEmail parameter \
                         (nothing was approved or rejected)";

/// Verifies `address` with SES at `endpoint`, or says why it was skipped: an endpoint
/// without SES (dynoxide) is no error, as emails then go to the local outbox.
pub async fn verify(endpoint: &str, address: &str) -> anyhow::Result<()> {
    let address = Email::parse(Some(address)).with_context(|| format!("--sender-email {address:?}"))?;
    let address = address.as_str();
    let ses = aws::ses(&aws::for_endpoint(endpoint).await);
    let state = match verify_sender(&ses, address).await {
        Ok(()) => "verification requested (emulators verify at once; AWS emails a link to confirm)".to_owned(),
        Err(EmailError::Unavailable(_)) => format!("skipped: no SES at {endpoint}"),
        Err(error) => {
            return Err(error).with_context(|| format!("verifying the sender {address} with SES at {endpoint}"));
        }
    };
    println!("{:<26} {address:<40} {state}", "SenderEmail");
    Ok(())
}

/// The configuration a decision's emails are written with: `table`, and STELLER_SENDER_EMAIL,
/// STELLER_OPS_EMAIL, … from the environment, as the Lambdas read them. On an emulator
/// (`endpoint`) the sender defaults to the local one; on AWS it is required, as the
/// partner's email must come from the stack's own verified sender.
pub fn config(endpoint: Option<&str>, table: &str) -> anyhow::Result<Config> {
    let sender = std::env::var(SENDER_EMAIL_VAR).ok().filter(|sender| !sender.trim().is_empty());
    if endpoint.is_none() && sender.is_none() {
        anyhow::bail!(NO_SENDER);
    }
    Ok(Config::from_lookup(|name| match name {
        TABLE_VAR => Some(table.to_owned()),
        SENDER_EMAIL_VAR => sender.clone().or_else(|| Some(DEFAULT_SENDER_EMAIL.to_owned())),
        other => std::env::var(other).ok(),
    })?)
}

/// How a decision made from the command line reaches the partner: through SES on `sdk`,
/// from `config`'s sender.
///
/// On an emulator (`endpoint`) the sender is verified first, as emulators refuse
/// unverified senders, and an emulator without SES gets the email printed here. On AWS
/// it is never verified here: each VerifyEmailIdentity call would email the address a
/// new confirmation link, and a deployed stack's sender is verified once, when the stack
/// is set up (docs/ops.md).
pub async fn notifier(
    endpoint: Option<&str>,
    sdk: &SdkConfig,
    config: &Config,
) -> anyhow::Result<Arc<dyn EmailSender>> {
    let ses = aws::ses(sdk);
    let Some(endpoint) = endpoint else {
        return Ok(Arc::new(SesSender::new(ses)));
    };
    let address = config.sender_email.as_deref().unwrap_or(DEFAULT_SENDER_EMAIL);
    match verify_sender(&ses, address).await {
        Ok(()) => Ok(Arc::new(SesSender::new(ses))),
        Err(EmailError::Unavailable(_)) => Ok(Arc::new(Outbox::printing())),
        Err(error) => Err(error).with_context(|| format!("verifying the sender {address} with SES at {endpoint}")),
    }
}
