//! Where a command works: an emulator at `--endpoint`, or AWS itself through the default
//! chain, and the domain table there.

use std::sync::Arc;

use clap::Args;
use steller::aws::{self, SdkConfig};
use steller::config::TABLE_VAR;
use steller::email::EmailSender;
use steller::schema::TableNames;
use steller::{Config, Store};

use crate::sender;

/// Why a command without `--endpoint` and without `--table` stops before any call: the
/// `--table-prefix` default names a local table, never one CloudFormation named.
const NO_TABLE: &str = "without --endpoint, steller-ops works on AWS itself and needs the domain table's exact \
                        name: pass --table NAME (the stack's DomainTableName output) or set STELLER_TABLE, or pass \
                        --endpoint URL to work on an emulator";

/// Where the domain table is: on an emulator, found by prefix or name, or on AWS, by its
/// exact name.
#[derive(Debug, Args)]
pub struct DomainTable {
    /// An emulator (dynoxide, moto, LocalStack) that gets every DynamoDB and SES call.
    /// Without it, AWS itself: region, credentials and endpoints from the default chain,
    /// as the AWS CLI finds them (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, …).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// With --endpoint: the domain table is `<prefix>-domain`, as `bootstrap` names it.
    #[arg(long, value_name = "P", default_value = "steller-local")]
    table_prefix: String,
    /// The domain table's exact name, instead of --table-prefix. Required without
    /// --endpoint: a deployed stack's DomainTableName output (its functions'
    /// STELLER_TABLE). Unset STELLER_TABLE to use --table-prefix.
    #[arg(long, value_name = "NAME", env = TABLE_VAR, conflicts_with = "table_prefix")]
    table: Option<String>,
}

impl DomainTable {
    /// The store over the domain table.
    pub async fn store(self) -> anyhow::Result<Store> {
        let table = self.table_name()?;
        Ok(Store::new(aws::dynamodb(&self.sdk().await), table))
    }

    /// The store, and what emails a decision's outcome to the partner. Built before any
    /// decision is made, and its configuration before any AWS call, so a command that
    /// cannot email fails before money moves.
    pub async fn store_and_notifier(self) -> anyhow::Result<(Store, Arc<dyn EmailSender>, Config)> {
        let table = self.table_name()?;
        let config = sender::config(self.endpoint.as_deref(), &table)?;
        let sdk = self.sdk().await;
        let email = sender::notifier(self.endpoint.as_deref(), &sdk, &config).await?;
        Ok((Store::new(aws::dynamodb(&sdk), table), email, config))
    }

    fn table_name(&self) -> anyhow::Result<String> {
        // An empty name (`--table "$TABLE"` after a failed lookup, `STELLER_TABLE=`) is none.
        let table = self.table.as_deref().map(str::trim).filter(|table| !table.is_empty());
        match (&self.endpoint, table) {
            (_, Some(table)) => Ok(table.to_owned()),
            (Some(_), None) => Ok(TableNames::new(self.table_prefix.as_str()).domain()),
            (None, None) => anyhow::bail!(NO_TABLE),
        }
    }

    /// The emulator's configuration, or the default chain's for AWS.
    async fn sdk(&self) -> SdkConfig {
        match &self.endpoint {
            Some(endpoint) => aws::for_endpoint(endpoint).await,
            None => aws::from_environment().await,
        }
    }
}
