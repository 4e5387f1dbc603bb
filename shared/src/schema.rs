//! Table and queue definitions, read from template.yaml (their single source), and
//! `bootstrap`, which creates the tables on any DynamoDB endpoint (dynoxide, moto,
//! LocalStack or AWS); `bootstrap_queues` does the same for the queues on SQS.

mod functions;
mod queues;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use serde::Deserialize;

pub use self::functions::{EnvValue, FunctionSpec, function_running, functions};
pub use self::queues::{
    BootstrappedQueue, QueueSpec, Queues, REQUEST_LOG_QUEUE, RedriveSpec, bootstrap_queues, queues,
};

/// The SAM template, compiled in so every binary bootstraps the tables it deploys.
pub const TEMPLATE: &str = include_str!("../../template.yaml");

/// Why the tables could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("template.yaml does not parse: {0}")]
    Template(String),
    #[error("creating table {table} failed")]
    Create { table: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("table {0} did not become ACTIVE in time")]
    NotActive(String),
    #[error("creating queue {queue} failed")]
    CreateQueue { queue: String, source: Box<dyn std::error::Error + Send + Sync> },
    /// The endpoint answers no SQS calls (dynoxide is DynamoDB only): the queues are
    /// skipped there, and the caller decides what stands in for them.
    #[error("the endpoint has no SQS")]
    NoSqs(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One `AWS::DynamoDB::Table` of the template.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    #[serde(skip)]
    pub logical_id: String,
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub time_to_live_specification: Option<TtlSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeSpec {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySpec {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeySpec>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    pub projection_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: serde_norway::Value,
}

/// Every DynamoDB table template.yaml declares, by logical id.
pub fn tables() -> Result<Vec<TableSpec>, SchemaError> {
    tables_in(TEMPLATE)
}

fn tables_in(template: &str) -> Result<Vec<TableSpec>, SchemaError> {
    let template: Template = serde_norway::from_str(template).map_err(|e| SchemaError::Template(e.to_string()))?;
    template
        .resources
        .into_iter()
        .filter(|(_, resource)| resource.kind == "AWS::DynamoDB::Table")
        .map(|(logical_id, resource)| {
            let mut spec: TableSpec = serde_norway::from_value(resource.properties)
                .map_err(|e| SchemaError::Template(format!("{logical_id}: {e}")))?;
            spec.logical_id = logical_id;
            Ok(spec)
        })
        .collect()
}

/// The physical names the tables get on an endpoint: `<prefix>-<logical id in kebab case>`
/// without the `Table` suffix (`DomainTable` → `steller-local-domain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    prefix: String,
}

impl TableNames {
    pub fn new(prefix: impl Into<String>) -> Self {
        TableNames { prefix: prefix.into() }
    }

    pub fn name_of(&self, logical_id: &str) -> String {
        let base = logical_id.strip_suffix("Table").unwrap_or(logical_id);
        let mut kebab = String::new();
        for (i, c) in base.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                kebab.push('-');
            }
            kebab.push(c.to_ascii_lowercase());
        }
        format!("{}-{kebab}", self.prefix)
    }

    /// The domain table's name.
    pub fn domain(&self) -> String {
        self.name_of("DomainTable")
    }

    /// The request-log table's name.
    pub fn request_log(&self) -> String {
        self.name_of("RequestLogTable")
    }
}

/// Creates every table of the template that `client`'s endpoint does not have yet, and
/// waits until each is ACTIVE. Existing tables are left as they are.
pub async fn bootstrap(client: &Client, names: &TableNames) -> Result<Vec<String>, SchemaError> {
    let existing = existing_tables(client).await?;
    let mut created = Vec::new();
    for spec in tables()? {
        let name = names.name_of(&spec.logical_id);
        if !existing.contains(&name) {
            create(client, &name, &spec).await?;
            created.push(name.clone());
        }
        wait_until_active(client, &name).await?;
    }
    Ok(created)
}

async fn existing_tables(client: &Client) -> Result<Vec<String>, SchemaError> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = client
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| SchemaError::Create { table: "(listing tables)".into(), source: e.into() })?;
        names.extend(page.table_names().iter().cloned());
        start = page.last_evaluated_table_name;
        if start.is_none() {
            return Ok(names);
        }
    }
}

async fn create(client: &Client, name: &str, spec: &TableSpec) -> Result<(), SchemaError> {
    let failed =
        |source: Box<dyn std::error::Error + Send + Sync>| SchemaError::Create { table: name.to_owned(), source };
    let keys = |keys: &[KeySpec]| -> Result<Vec<KeySchemaElement>, SchemaError> {
        keys.iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(&k.attribute_name)
                    .key_type(KeyType::from(k.key_type.as_str()))
                    .build()
                    .map_err(|e| failed(e.into()))
            })
            .collect()
    };
    let mut request = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for attribute in &spec.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()
                .map_err(|e| failed(e.into()))?,
        );
    }
    request = request.set_key_schema(Some(keys(&spec.key_schema)?));
    for index in &spec.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(index.projection.projection_type.as_str()))
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(projection)
                .build()
                .map_err(|e| failed(e.into()))?,
        );
    }
    request.send().await.map_err(|e| failed(e.into()))?;
    wait_until_active(client, name).await?;
    if let Some(ttl) = spec.time_to_live_specification.as_ref().filter(|ttl| ttl.enabled) {
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(true)
            .build()
            .map_err(|e| failed(e.into()))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| failed(e.into()))?;
    }
    Ok(())
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), SchemaError> {
    // Emulators answer ACTIVE at once; AWS takes a few seconds. Two minutes is generous.
    for _ in 0..240 {
        let status = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .ok()
            .and_then(|output| output.table)
            .and_then(|table| table.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(SchemaError::NotActive(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_declares_the_domain_table_with_pk_sk_and_ttl() {
        let tables = tables().expect("template.yaml parses");
        let domain = tables.iter().find(|t| t.logical_id == "DomainTable").expect("DomainTable is declared");
        let keys: Vec<_> = domain.key_schema.iter().map(|k| (k.attribute_name.as_str(), k.key_type.as_str())).collect();
        assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
        assert_eq!(domain.time_to_live_specification.as_ref().map(|t| t.attribute_name.as_str()), Some("expires_at"));
    }

    #[test]
    fn physical_names_are_the_prefix_and_the_logical_id_in_kebab_case() {
        let names = TableNames::new("steller-local");
        assert_eq!(names.domain(), "steller-local-domain");
        assert_eq!(names.name_of("RequestLogTable"), "steller-local-request-log");
        assert_eq!(names.request_log(), "steller-local-request-log");
    }

    #[test]
    fn a_broken_template_is_reported() {
        assert!(matches!(tables_in("Resources: [1, 2"), Err(SchemaError::Template(_))));
    }
}
