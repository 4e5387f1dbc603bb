//! Each function of template.yaml is given exactly the environment variables its code
//! declares and reads (`<function>::VARIABLES`, read through `Config::read` or
//! `DrainConfig`): none missing, so it starts; none extra, so nothing is configured that
//! no code reads. The Runtime API tests (`functions/*/tests/lambda.rs`) then run each
//! binary with that environment and nothing more.

use std::collections::BTreeSet;

use steller::config::{Config, DrainConfig};
use steller::schema::{EnvValue, functions};
use steller::testing::policy::{function_statements, own_role};

/// Every binary `sam build` builds, with the variables its crate declares.
const DECLARED: [(&str, &[&str]); 12] = [
    ("admin", admin::VARIABLES),
    ("analytics", analytics::VARIABLES),
    ("catalog", catalog::VARIABLES),
    ("orders", orders::VARIABLES),
    ("portal", portal::VARIABLES),
    ("signup", signup::VARIABLES),
    ("top-ups", top_ups::VARIABLES),
    ("usage", usage::VARIABLES),
    ("wallet", wallet::VARIABLES),
    ("webhooks", webhooks::VARIABLES),
    ("webhook-dispatch", webhook_delivery::DISPATCH_VARIABLES),
    ("webhook-delivery", webhook_delivery::DELIVERY_VARIABLES),
];

#[test]
fn every_function_gets_exactly_the_variables_its_config_reads() {
    let functions = functions().expect("template.yaml's functions");
    let binaries: BTreeSet<&str> = functions.iter().map(|function| function.binary.as_str()).collect();
    assert_eq!(binaries, DECLARED.iter().map(|(binary, _)| *binary).collect(), "one function per binary");
    for function in &functions {
        let (_, declared) = DECLARED.iter().find(|(binary, _)| *binary == function.binary).expect("declared");
        let given: BTreeSet<&str> = function.environment.keys().map(String::as_str).collect();
        let read: BTreeSet<&str> = declared.iter().copied().collect();
        assert_eq!(
            given, read,
            "{} ({}): template.yaml's variables vs the code's",
            function.logical_id, function.binary
        );
        assert_eq!(read.len(), declared.len(), "{} declares a variable twice", function.binary);
    }
}

#[test]
fn every_declared_variable_is_one_the_config_knows() {
    let known: BTreeSet<&str> = Config::VARIABLES.iter().chain(&DrainConfig::VARIABLES).copied().collect();
    for (binary, declared) in DECLARED {
        for name in declared {
            assert!(known.contains(name), "{binary} declares {name}, which no configuration reads");
        }
    }
}

#[test]
fn every_variable_is_a_reference_to_the_stacks_own_resources_or_parameters() {
    let template: serde_norway::Value = serde_norway::from_str(steller::schema::TEMPLATE).expect("parses");
    let defined = |id: &str| template["Resources"].get(id).is_some() || template["Parameters"].get(id).is_some();
    for function in functions().expect("template.yaml's functions") {
        for (name, value) in &function.environment {
            match value {
                EnvValue::Ref(id) => {
                    assert!(defined(id), "{}'s {name} refers to {id}, not in the template", function.logical_id)
                }
                EnvValue::Text(text) => panic!(
                    "{}'s {name} is the literal {text:?}: deploy-time values come from parameters",
                    function.logical_id
                ),
            }
        }
    }
}

#[test]
fn functions_share_no_environment_through_globals() {
    let template: serde_norway::Value = serde_norway::from_str(steller::schema::TEMPLATE).expect("parses");
    assert!(
        template["Globals"]["Function"].get("Environment").is_none(),
        "a variable in Globals reaches every function, whether or not it reads it"
    );
}

fn template() -> serde_norway::Value {
    serde_norway::from_str(steller::schema::TEMPLATE).expect("template.yaml parses")
}

/// The logical id of `!Ref X` / `{"Ref": X}`.
fn reference(value: &serde_norway::Value) -> Option<&str> {
    match value {
        serde_norway::Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        serde_norway::Value::Mapping(mapping) => mapping.get("Ref")?.as_str(),
        _ => None,
    }
}

#[test]
fn every_function_logs_to_a_log_group_of_its_own_with_a_retention() {
    let template = template();
    let mut groups = BTreeSet::new();
    for function in functions().expect("template.yaml's functions") {
        let properties = &template["Resources"][function.logical_id.as_str()]["Properties"];
        let group = reference(&properties["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{} has no LoggingConfig.LogGroup", function.logical_id));
        let resource = &template["Resources"][group];
        assert_eq!(resource["Type"].as_str(), Some("AWS::Logs::LogGroup"), "{group}");
        assert_eq!(reference(&resource["Properties"]["RetentionInDays"]), Some("LogRetentionDays"), "{group}");
        assert!(groups.insert(group.to_owned()), "{group} is shared by two functions");
    }
}

#[test]
fn alarms_watch_the_dead_letter_queue_the_backlogs_age_the_analytics_runs_and_the_apis_5xx_and_tell_ops() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("resources");
    let alarms: Vec<&serde_norway::Value> =
        resources.values().filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")).collect();
    let watches = |namespace: &str, metric: &str, target: &str| {
        alarms.iter().any(|alarm| {
            let properties = &alarm["Properties"];
            properties["Namespace"].as_str() == Some(namespace)
                && properties["MetricName"].as_str() == Some(metric)
                && format!("{:?}", properties["Dimensions"]).contains(target)
        })
    };
    assert!(watches("AWS/SQS", "ApproximateNumberOfMessagesVisible", "RequestLogDeadLetterQueue"));
    assert!(watches("AWS/SQS", "ApproximateAgeOfOldestMessage", "RequestLogQueue"));
    assert!(watches("AWS/Lambda", "Errors", "AnalyticsFunction"));
    assert!(watches("AWS/ApiGateway", "5xx", "HttpApi"));
    for alarm in &alarms {
        let actions = alarm["Properties"]["AlarmActions"].as_sequence().expect("alarm actions");
        assert!(actions.iter().any(|action| reference(action) == Some("OpsAlarmTopic")), "{alarm:?}");
    }
    let subscription = format!("{:?}", template["Resources"]["OpsAlarmTopic"]["Properties"]["Subscription"]);
    assert!(subscription.contains("HasOpsEmail") && subscription.contains("OpsEmail"), "{subscription}");
}

#[test]
fn analytics_runs_never_overlap_and_end_before_their_messages_reappear() {
    let template = template();
    let function = &template["Resources"]["AnalyticsFunction"]["Properties"];
    assert_eq!(function["ReservedConcurrentExecutions"].as_u64(), Some(1), "one run at a time");
    let timeout = function["Timeout"].as_u64().expect("a timeout");
    assert_eq!(
        function["EventInvokeConfig"]["MaximumRetryAttempts"].as_u64(),
        Some(0),
        "a failed run is not retried beside the schedule (a retry counts as a second failed run)"
    );
    let schedules: Vec<&str> = function["Events"]
        .as_mapping()
        .expect("events")
        .values()
        .filter_map(|event| event["Properties"]["Schedule"].as_str())
        .collect();
    let [schedule] = schedules[..] else { panic!("one schedule: {schedules:?}") };
    let minutes: u64 = schedule
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(" minutes)"))
        .and_then(|n| n.parse().ok())
        .expect("rate(N minutes)");
    assert!(timeout < minutes * 60, "a run ({timeout} s) ends before the next is scheduled ({schedule})");
    let visibility = template["Resources"]["RequestLogQueue"]["Properties"]["VisibilityTimeout"]
        .as_u64()
        .expect("a visibility timeout");
    assert!(timeout < visibility, "a run ends before the messages it received become visible again");
    let age_alarm = template["Resources"]["RequestLogAgeAlarm"]["Properties"].clone();
    let threshold = age_alarm["Threshold"].as_u64().expect("a threshold in seconds");
    // A malformed message waits out 5 receives, one per run, before the dead-letter queue
    // takes it: the alarm must not fire for that alone.
    assert!(threshold > 5 * minutes.max(visibility / 60) * 60, "{threshold} s");
}

#[test]
fn each_samconfig_environment_sets_every_parameter_of_the_template() {
    let template = template();
    let parameters: BTreeSet<&str> =
        template["Parameters"].as_mapping().expect("parameters").keys().filter_map(|key| key.as_str()).collect();
    let samconfig =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../samconfig.toml")).expect("samconfig.toml");
    for environment in ["dev", "prod"] {
        let section = samconfig
            .split(&format!("[{environment}.deploy.parameters]"))
            .nth(1)
            .unwrap_or_else(|| panic!("samconfig.toml has no {environment} environment"));
        let overrides = section
            .lines()
            .find_map(|line| line.strip_prefix("parameter_overrides = "))
            .unwrap_or_else(|| panic!("{environment} has no parameter_overrides"));
        let set: BTreeSet<&str> =
            overrides.trim_matches('"').split_whitespace().filter_map(|pair| pair.split('=').next()).collect();
        assert_eq!(set, parameters, "{environment}: a parameter left out silently takes the template default");
        assert!(overrides.contains(&format!("Stage={environment}")), "{environment}: {overrides}");
    }
}

#[test]
fn no_function_policy_grants_a_wildcard_action_or_resource() {
    let template = template();
    for function in functions().expect("template.yaml's functions") {
        let statements = function_statements(&template, &function.logical_id);
        for statement in &statements {
            let actions = statement["Action"].as_sequence().expect("a list of actions");
            for action in actions.iter().filter_map(|action| action.as_str()) {
                assert!(!action.contains('*'), "{} may {action}", function.logical_id);
            }
            // Every resource is one of the stack's own (`!GetAtt X.Arn`, `!Sub "${X.Arn}/index/…"`)
            // or SES identities in the stack's account and region; only X-Ray's actions,
            // which have no resource to scope to, are granted on `*`.
            let resource = format!("{:?}", statement["Resource"]);
            let own = resource.contains("GetAtt") || resource.contains(".Arn}");
            let ses = resource.contains(":ses:${AWS::Region}:${AWS::AccountId}:identity/");
            let xray = statement["Resource"].as_str() == Some("*")
                && actions.iter().all(|action| action.as_str().is_some_and(|action| action.starts_with("xray:Put")));
            assert!(own || ses || xray, "{}: a statement on {resource}", function.logical_id);
        }
    }
}

/// SAM gives a function that a queue or a stream feeds, unless it has a role of its own,
/// a managed policy that reads every queue (AWSLambdaSQSQueueExecutionRole) or every
/// stream (AWSLambdaDynamoDBExecutionRole) in the account. Each such function has its own
/// role, with no managed policy, whose statements cover its trigger and its logs.
#[test]
fn functions_fed_by_a_queue_or_a_stream_have_a_role_of_their_own_without_managed_policies() {
    let template = template();
    let mut fed = 0;
    for function in functions().expect("template.yaml's functions") {
        let properties = &template["Resources"][function.logical_id.as_str()]["Properties"];
        let events = properties["Events"].as_mapping().into_iter().flat_map(|events| events.values());
        let triggers: Vec<&str> = events
            .filter_map(|event| event["Type"].as_str())
            .filter(|kind| matches!(*kind, "SQS" | "DynamoDB" | "Kinesis" | "MSK"))
            .collect();
        if triggers.is_empty() {
            continue;
        }
        fed += 1;
        let id = &function.logical_id;
        let role_id = own_role(&template, id);
        let role_id = role_id.filter(|_| properties["Policies"].is_null());
        let role_id = role_id.unwrap_or_else(|| panic!("{id} ({triggers:?}) needs its own role"));
        let role = &template["Resources"][role_id];
        assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{id}: {role_id}");
        assert!(role["Properties"]["ManagedPolicyArns"].is_null(), "{role_id}: no managed policy");
        let grants = |action: &str, resource: &str| {
            function_statements(&template, id).iter().any(|statement| {
                let listed = statement["Action"]
                    .as_sequence()
                    .is_some_and(|actions| actions.iter().any(|listed| listed.as_str() == Some(action)));
                listed && format!("{:?}", statement["Resource"]).contains(resource)
            })
        };
        let log_group = format!("{:?}", properties["LoggingConfig"]["LogGroup"]);
        let log_group = log_group.split('"').nth(1).expect("its own log group");
        assert!(grants("logs:PutLogEvents", log_group), "{id} may write its logs to {log_group}");
        for kind in triggers {
            let needs: &[(&str, &str)] = match kind {
                "SQS" => &[
                    ("sqs:ReceiveMessage", "Queue"),
                    ("sqs:DeleteMessage", "Queue"),
                    ("sqs:GetQueueAttributes", "Queue"),
                ],
                _ => &[
                    ("dynamodb:GetRecords", "StreamArn"),
                    ("dynamodb:GetShardIterator", "StreamArn"),
                    ("dynamodb:DescribeStream", "StreamArn"),
                ],
            };
            for (action, resource) in needs {
                assert!(grants(action, resource), "{id}'s {kind} trigger needs {action} on its {resource}");
            }
        }
    }
    assert_eq!(fed, 2, "the webhook dispatch (stream) and delivery (queue) functions");
}

/// Requests with a key are admitted by an UpdateItem on the key's lookup item, which
/// also counts them against the key's rate limit (`Store::admit`): a function serving a
/// keyed route without that permission would answer every request 500 on AWS, though
/// every engine here allows it.
#[test]
fn every_function_serving_keyed_routes_may_update_the_key_lookups() {
    let template = template();
    let mut checked = 0;
    for function in functions().expect("template.yaml's functions") {
        let keyed =
            function.http_routes.iter().any(|(_, path)| path.starts_with("/api/") && !path.starts_with("/api/public/"));
        if !keyed {
            continue;
        }
        checked += 1;
        let statements = function_statements(&template, &function.logical_id);
        let grants = statements.iter().any(|statement| {
            let on_domain_table = format!("{:?}", statement["Resource"]).contains("DomainTable.Arn");
            let updates = statement["Action"]
                .as_sequence()
                .is_some_and(|actions| actions.iter().any(|action| action.as_str() == Some("dynamodb:UpdateItem")));
            let leading = format!("{:?}", statement["Condition"]);
            let only_other_items = statement["Condition"].is_mapping() && !leading.contains("APIKEY#");
            on_domain_table && updates && !only_other_items
        });
        assert!(grants, "{} serves keyed routes but may not UpdateItem the key lookups", function.logical_id);
    }
    assert!(checked >= 7, "the functions with keyed routes were found ({checked})");
}

/// The routes each HTTP function's router serves, from its crate: the `routes!` that
/// build an API router also document it, so the OpenAPI paths are the served routes; the
/// portal's pages come from the one table its router is built from.
fn served_by(binary: &str) -> Option<Vec<(String, String)>> {
    let routes = match binary {
        "portal" => return Some(portal::routes()),
        "admin" => admin::routes(),
        "catalog" => catalog::routes(),
        "orders" => orders::routes(),
        "signup" => signup::routes(),
        "top-ups" => top_ups::routes(),
        "usage" => usage::routes(),
        "wallet" => wallet::routes(),
        "webhooks" => webhooks::routes(),
        _ => return None,
    };
    let (_, api) = routes.split_for_parts();
    let mut served = Vec::new();
    for (path, item) in &api.paths.paths {
        let methods = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
        ];
        for (method, operation) in methods {
            if operation.is_some() {
                served.push((method.to_owned(), path.clone()));
            }
        }
    }
    served.sort();
    Some(served)
}

#[test]
fn each_functions_http_api_events_are_exactly_the_routes_its_router_serves() {
    for function in functions().expect("template.yaml's functions") {
        match served_by(&function.binary) {
            Some(served) => assert_eq!(
                function.http_routes, served,
                "{} ({}): template.yaml's HttpApi events vs the routes its router serves",
                function.logical_id, function.binary
            ),
            None => {
                assert!(
                    ["analytics", "webhook-dispatch", "webhook-delivery"].contains(&function.binary.as_str()),
                    "{} is an HTTP function this test does not know",
                    function.binary
                );
                assert!(
                    function.http_routes.is_empty(),
                    "the {} function answers no HTTP: {:?}",
                    function.binary,
                    function.http_routes
                );
            }
        }
    }
}

#[test]
fn every_function_outlasts_an_aws_call_and_the_margin_kept_for_answering() {
    let template = template();
    let functions = template["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"));
    let needed = steller::aws::OPERATION_TIMEOUT + steller::deadline::ANSWER_MARGIN;
    let mut checked = 0;
    for (id, function) in functions {
        let timeout = function["Properties"]["Timeout"].as_u64().expect("a timeout");
        assert!(
            std::time::Duration::from_secs(timeout) > needed,
            "{id:?}: a {timeout} s timeout leaves no room for a {needed:?} AWS call and the answer after it"
        );
        checked += 1;
    }
    assert_eq!(checked, DECLARED.len(), "every function was checked");
}

#[test]
fn webhook_deliveries_get_every_attempt_of_the_schedule_then_the_dead_letter_queue() {
    use steller::webhooks::delivery::{RETRY_SCHEDULE, Schedule};
    let template = template();
    let resources = &template["Resources"];
    let queue = &resources["WebhookDeliveryQueue"]["Properties"];
    // The receive count is the attempt number: the redrive policy allows exactly the
    // schedule's attempts, and the queue keeps a message for the whole schedule.
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(u64::from(Schedule::standard().attempts())));
    assert_eq!(reference(&queue["RedrivePolicy"]["deadLetterTargetArn"]), None, "a GetAtt, not a Ref");
    assert!(format!("{:?}", queue["RedrivePolicy"]["deadLetterTargetArn"]).contains("WebhookDeadLetterQueue"));
    let schedule: u64 = RETRY_SCHEDULE.iter().map(|pause| pause.as_secs()).sum();
    let retention = queue["MessageRetentionPeriod"].as_u64().expect("a retention");
    assert!(retention > schedule + 3600, "{retention} s keeps a {schedule} s schedule");
    // A batch's attempts end before its messages could be received again, and SQS can
    // hide a message for the longest pause (12 h at most).
    let delivery = &resources["WebhookDeliveryFunction"]["Properties"];
    let timeout = delivery["Timeout"].as_u64().expect("a timeout");
    let visibility = queue["VisibilityTimeout"].as_u64().expect("a visibility timeout");
    assert!(
        steller::webhooks::send::TIMEOUT.as_secs() < timeout && timeout < visibility,
        "{timeout} s, {visibility} s"
    );
    assert!(RETRY_SCHEDULE.iter().all(|pause| pause.as_secs() <= 12 * 3600));
    let sqs = &delivery["Events"]["Deliveries"]["Properties"];
    assert!(format!("{:?}", sqs["FunctionResponseTypes"]).contains("ReportBatchItemFailures"));
    // The dispatcher reads the domain table's stream, new event items only, and reports
    // the records it failed rather than failing the batch.
    assert!(resources["DomainTable"]["Properties"]["StreamSpecification"]["StreamViewType"].as_str().is_some());
    let stream = &resources["WebhookDispatchFunction"]["Properties"]["Events"]["Outbox"]["Properties"];
    assert!(format!("{:?}", stream["FunctionResponseTypes"]).contains("ReportBatchItemFailures"));
    let filter = format!("{:?}", stream["FilterCriteria"]);
    assert!(filter.contains("INSERT") && filter.contains("EVENT#"), "{filter}");
}

/// Deliveries wait on partners' servers: their trigger is capped, so a burst to slow
/// endpoints cannot take the account's concurrency from the API.
#[test]
fn webhook_deliveries_run_at_a_bounded_concurrency() {
    let template = template();
    let events = &template["Resources"]["WebhookDeliveryFunction"]["Properties"]["Events"];
    let sqs: Vec<&serde_norway::Value> =
        events.as_mapping().expect("events").values().filter(|event| event["Type"].as_str() == Some("SQS")).collect();
    let [deliveries] = sqs[..] else { panic!("one SQS trigger: {sqs:?}") };
    let most = deliveries["Properties"]["ScalingConfig"]["MaximumConcurrency"].as_u64();
    assert!(most.is_some_and(|most| (2..=50).contains(&most)), "a cap of 2 to 50: {most:?}");
}

/// The table that holds the money survives its stack and a stray delete-table call.
#[test]
fn the_domain_table_is_protected_from_deletion() {
    let template = template();
    let table = &template["Resources"]["DomainTable"];
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["Properties"]["DeletionProtectionEnabled"].as_bool(), Some(true));
    assert_eq!(
        table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}
