//! Queue definitions, read from template.yaml like the tables, and `bootstrap_queues`,
//! which creates them on any SQS endpoint (moto, LocalStack or AWS) with their
//! attributes, dead-letter queues first so a redrive policy can name its target's ARN.

use std::collections::HashMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;
use serde_norway::Value;

use super::{SchemaError, TEMPLATE, TableNames, Template};

/// The logical id of the queue every request's log record goes to.
pub const REQUEST_LOG_QUEUE: &str = "RequestLogQueue";

/// One `AWS::SQS::Queue` of the template: the attributes bootstrap sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    /// Seconds a received message stays invisible (`VisibilityTimeout`).
    pub visibility_timeout: Option<u32>,
    /// Seconds a message is kept (`MessageRetentionPeriod`).
    pub message_retention_period: Option<u32>,
    pub redrive: Option<RedriveSpec>,
}

/// Where messages received too often go: another queue of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveSpec {
    /// The dead-letter queue's logical id (the template's `!GetAtt <id>.Arn`).
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawQueue {
    visibility_timeout: Option<Value>,
    message_retention_period: Option<Value>,
    redrive_policy: Option<RawRedrive>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRedrive {
    dead_letter_target_arn: Value,
    max_receive_count: Value,
}

/// Every SQS queue template.yaml declares, ordered so a dead-letter queue comes before
/// the queues that redrive to it.
pub fn queues() -> Result<Vec<QueueSpec>, SchemaError> {
    queues_in(TEMPLATE)
}

fn queues_in(template: &str) -> Result<Vec<QueueSpec>, SchemaError> {
    let template: Template = serde_norway::from_str(template).map_err(|e| SchemaError::Template(e.to_string()))?;
    let specs = template
        .resources
        .into_iter()
        .filter(|(_, resource)| resource.kind == "AWS::SQS::Queue")
        .map(|(logical_id, resource)| {
            let invalid = |reason: &str| SchemaError::Template(format!("{logical_id}: {reason}"));
            let raw: RawQueue = serde_norway::from_value(resource.properties).map_err(|e| invalid(&e.to_string()))?;
            let redrive = raw
                .redrive_policy
                .map(|policy| {
                    Ok::<_, SchemaError>(RedriveSpec {
                        dead_letter_queue: arn_of(&policy.dead_letter_target_arn)
                            .ok_or_else(|| invalid("deadLetterTargetArn is not !GetAtt <queue>.Arn"))?,
                        max_receive_count: number(&policy.max_receive_count)
                            .ok_or_else(|| invalid("maxReceiveCount is not a number"))?,
                    })
                })
                .transpose()?;
            let seconds = |value: Option<Value>, name: &str| {
                value.map(|v| number(&v).ok_or_else(|| invalid(&format!("{name} is not a number")))).transpose()
            };
            Ok(QueueSpec {
                visibility_timeout: seconds(raw.visibility_timeout, "VisibilityTimeout")?,
                message_retention_period: seconds(raw.message_retention_period, "MessageRetentionPeriod")?,
                redrive,
                logical_id,
            })
        })
        .collect::<Result<Vec<_>, SchemaError>>()?;
    targets_first(specs)
}

/// A whole number, written as one (`120`) or as a string (`"120"`), as CloudFormation takes both.
fn number(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The logical id in `!GetAtt X.Arn`, `!GetAtt [X, Arn]` or `{"Fn::GetAtt": [X, Arn]}`.
fn arn_of(value: &Value) -> Option<String> {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => &tagged.value,
        Value::Mapping(mapping) => mapping.get("Fn::GetAtt")?,
        _ => return None,
    };
    match target {
        Value::String(dotted) => dotted.strip_suffix(".Arn").map(str::to_owned),
        Value::Sequence(parts) => match &parts[..] {
            [Value::String(id), Value::String(attribute)] if attribute == "Arn" => Some(id.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Orders `specs` so every redrive target comes before the queues naming it.
fn targets_first(mut pending: Vec<QueueSpec>) -> Result<Vec<QueueSpec>, SchemaError> {
    let mut ordered: Vec<QueueSpec> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|spec| {
            spec.redrive.as_ref().is_none_or(|r| ordered.iter().any(|done| done.logical_id == r.dead_letter_queue))
        });
        let Some(ready) = ready else {
            let stuck: Vec<&str> = pending.iter().map(|spec| spec.logical_id.as_str()).collect();
            return Err(SchemaError::Template(format!(
                "the redrive policies of {} name no queue of the template, or each other",
                stuck.join(", ")
            )));
        };
        ordered.push(pending.remove(ready));
    }
    Ok(ordered)
}

impl TableNames {
    /// A queue's physical name: `<prefix>-<logical id in kebab case>` without the `Queue`
    /// suffix (`RequestLogDeadLetterQueue` → `steller-local-request-log-dead-letter`).
    pub fn queue_name_of(&self, logical_id: &str) -> String {
        self.name_of(logical_id.strip_suffix("Queue").unwrap_or(logical_id))
    }

    /// The request-log queue's name.
    pub fn request_log_queue(&self) -> String {
        self.queue_name_of(REQUEST_LOG_QUEUE)
    }
}

/// One queue of the template, as it is on the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrappedQueue {
    pub logical_id: String,
    pub name: String,
    pub url: String,
    pub arn: String,
    /// Whether this bootstrap created it (else it was already there, and left as it was).
    pub created: bool,
}

/// The template's queues on an endpoint, dead-letter queues first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queues(pub Vec<BootstrappedQueue>);

impl Queues {
    pub fn iter(&self) -> impl Iterator<Item = &BootstrappedQueue> {
        self.0.iter()
    }

    pub fn get(&self, logical_id: &str) -> Option<&BootstrappedQueue> {
        self.0.iter().find(|queue| queue.logical_id == logical_id)
    }

    /// The request-log queue's URL, what `STELLER_REQUEST_LOG_QUEUE_URL` is set to.
    pub fn request_log_url(&self) -> Option<&str> {
        self.get(REQUEST_LOG_QUEUE).map(|queue| queue.url.as_str())
    }
}

/// Creates every queue of the template that `client`'s endpoint does not have yet, with
/// the template's attributes. Existing queues are left as they are, so a second run
/// changes nothing. An endpoint with no SQS (dynoxide) gives `SchemaError::NoSqs`, which
/// callers treat as "skipped", not as a failure.
pub async fn bootstrap_queues(client: &Client, names: &TableNames) -> Result<Queues, SchemaError> {
    let mut done: Vec<BootstrappedQueue> = Vec::new();
    for spec in queues()? {
        let name = names.queue_name_of(&spec.logical_id);
        let failed = |source: Cause| SchemaError::CreateQueue { queue: name.clone(), source };
        let existing = match client.get_queue_url().queue_name(&name).send().await {
            Ok(found) => found.queue_url,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_queue_does_not_exist()) => None,
            Err(error) => return Err(classify(error, failed)),
        };
        let (url, created) = match existing {
            Some(url) => (url, false),
            None => {
                let attributes = attributes_of(&spec, &done)?;
                let created = client
                    .create_queue()
                    .queue_name(&name)
                    .set_attributes(Some(attributes))
                    .send()
                    .await
                    .map_err(|error| classify(error, failed))?;
                let url = created.queue_url.ok_or_else(|| failed("CreateQueue answered no queue URL".into()))?;
                (url, true)
            }
        };
        let arn = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|error| classify(error, failed))?
            .attributes
            .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| failed("GetQueueAttributes answered no QueueArn".into()))?;
        done.push(BootstrappedQueue { logical_id: spec.logical_id, name, url, arn, created });
    }
    Ok(Queues(done))
}

type Cause = Box<dyn std::error::Error + Send + Sync>;

fn attributes_of(
    spec: &QueueSpec,
    done: &[BootstrappedQueue],
) -> Result<HashMap<QueueAttributeName, String>, SchemaError> {
    let mut attributes = HashMap::new();
    if let Some(seconds) = spec.visibility_timeout {
        attributes.insert(QueueAttributeName::VisibilityTimeout, seconds.to_string());
    }
    if let Some(seconds) = spec.message_retention_period {
        attributes.insert(QueueAttributeName::MessageRetentionPeriod, seconds.to_string());
    }
    if let Some(redrive) = &spec.redrive {
        // `targets_first` put the dead-letter queue before this one.
        let target = done.iter().find(|queue| queue.logical_id == redrive.dead_letter_queue).ok_or_else(|| {
            SchemaError::Template(format!("{}: no dead-letter queue {}", spec.logical_id, redrive.dead_letter_queue))
        })?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": target.arn,
            "maxReceiveCount": redrive.max_receive_count,
        });
        attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    Ok(attributes)
}

/// An error answer from SQS itself names its error code; anything else means there is no
/// working SQS at the endpoint (no connection, or an answer that is not SQS's: dynoxide
/// answers every call as DynamoDB would).
fn classify<E, R>(error: SdkError<E, R>, failed: impl FnOnce(Cause) -> SchemaError) -> SchemaError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let is_sqs_answer =
        matches!(error, SdkError::ServiceError(_)) && error.code().is_some_and(|code| !NOT_SQS_CODES.contains(&code));
    if is_sqs_answer { failed(Box::new(error)) } else { SchemaError::NoSqs(Box::new(error)) }
}

/// Error codes an endpoint answers to an operation it does not know: a DynamoDB-only
/// endpoint's answer to SQS.
const NOT_SQS_CODES: [&str; 2] = ["UnknownOperationException", "InvalidAction"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_declares_the_request_log_queue_redriving_to_its_dead_letter_queue() {
        let queues = queues().expect("template.yaml parses");
        let ids: Vec<&str> = queues.iter().map(|q| q.logical_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "RequestLogDeadLetterQueue",
                "RequestLogQueue",
                "WebhookDeadLetterQueue",
                "WebhookDeliveryQueue",
                "WebhookDispatchDeadLetterQueue"
            ],
            "each dead-letter queue comes before the queue redriving to it"
        );
        let queue = &queues[1];
        assert_eq!(
            queue.redrive,
            Some(RedriveSpec { dead_letter_queue: "RequestLogDeadLetterQueue".into(), max_receive_count: 5 })
        );
        assert_eq!(queue.message_retention_period, Some(4 * 24 * 3600));
        assert_eq!(queues[0].message_retention_period, Some(14 * 24 * 3600));
    }

    #[test]
    fn the_visibility_timeout_outlasts_the_analytics_function() {
        let template: Value = serde_norway::from_str(TEMPLATE).expect("the template parses");
        let analytics = template["Resources"]["AnalyticsFunction"]["Properties"]["Timeout"].as_u64();
        let global = template["Globals"]["Function"]["Timeout"].as_u64();
        let timeout = analytics.or(global).expect("a function timeout");
        let visibility = queues()
            .expect("template.yaml parses")
            .into_iter()
            .find(|q| q.logical_id == REQUEST_LOG_QUEUE)
            .and_then(|q| q.visibility_timeout)
            .expect("the request-log queue sets VisibilityTimeout");
        assert!(u64::from(visibility) > timeout, "visibility {visibility} s <= the function's {timeout} s");
    }

    #[test]
    fn every_function_serving_http_may_send_to_the_request_log_queue() {
        let template: Value = serde_norway::from_str(TEMPLATE).expect("the template parses");
        let resources = template["Resources"].as_mapping().expect("resources");
        let mut checked = 0;
        for (id, resource) in resources {
            let properties = &resource["Properties"];
            let serves_http = properties["Events"]
                .as_mapping()
                .is_some_and(|events| events.values().any(|event| event["Type"] == "HttpApi"));
            if resource["Type"] != "AWS::Serverless::Function" || !serves_http {
                continue;
            }
            let statements = properties["Policies"][0]["Statement"].as_sequence().cloned().unwrap_or_default();
            let may_send = statements.iter().any(|statement| {
                let actions = statement["Action"].as_sequence().cloned().unwrap_or_default();
                // One resource, or a list of them (the request-log queue and another).
                let resources = match &statement["Resource"] {
                    Value::Sequence(resources) => resources.clone(),
                    resource => vec![resource.clone()],
                };
                actions.iter().any(|action| action == "sqs:SendMessage")
                    && resources.iter().any(|resource| arn_of(resource).as_deref() == Some(REQUEST_LOG_QUEUE))
            });
            assert!(may_send, "{id:?} serves HTTP, so its request-log layer needs sqs:SendMessage on the queue");
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} HTTP functions found");
    }

    #[test]
    fn queue_names_are_the_prefix_and_the_logical_id_without_queue() {
        let names = TableNames::new("steller-local");
        assert_eq!(names.request_log_queue(), "steller-local-request-log");
        assert_eq!(names.queue_name_of("RequestLogDeadLetterQueue"), "steller-local-request-log-dead-letter");
    }

    #[test]
    fn get_att_is_read_in_each_of_its_spellings() {
        for spelling in ["!GetAtt Dlq.Arn", "!GetAtt [Dlq, Arn]", "{Fn::GetAtt: [Dlq, Arn]}"] {
            let value: Value = serde_norway::from_str(spelling).expect("YAML");
            assert_eq!(arn_of(&value).as_deref(), Some("Dlq"), "{spelling}");
        }
        let url: Value = serde_norway::from_str("!Ref Dlq").expect("YAML");
        assert_eq!(arn_of(&url), None, "a queue's !Ref is its URL, not its ARN");
    }

    #[test]
    fn a_redrive_to_an_undeclared_queue_is_reported() {
        let template = "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n        \
                        deadLetterTargetArn: !GetAtt Missing.Arn\n        maxReceiveCount: 5\n";
        let error = queues_in(template).expect_err("Missing is no queue");
        assert!(matches!(&error, SchemaError::Template(reason) if reason.contains('A')), "{error}");
    }
}
