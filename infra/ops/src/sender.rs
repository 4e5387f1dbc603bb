//! `bootstrap`'s last step: verifying the sender address with SES at the endpoint, since
//! emulators refuse to send from an unverified address and AWS needs it confirmed once.

use anyhow::Context;
use steller::aws;
use steller::domain::Email;
use steller::email::{EmailError, verify_sender};

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
    println!("{:<16} {address:<40} {state}", "SenderEmail");
    Ok(())
}
