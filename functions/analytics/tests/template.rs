//! The analytics function as template.yaml deploys it: scheduled every 2 minutes, with
//! only the permissions the processor's calls need.

use serde_norway::Value;

fn template() -> Value {
    serde_norway::from_str(steller::schema::TEMPLATE).expect("template.yaml parses")
}

/// The `Action`s of a function's policy statements on the resource `!GetAtt <target>.Arn`.
fn actions_on(function: &Value, target: &str) -> Vec<String> {
    let statements = function["Properties"]["Policies"][0]["Statement"].as_sequence().expect("policy statements");
    let mut actions: Vec<String> = statements
        .iter()
        .filter(|statement| format!("{:?}", statement["Resource"]).contains(&format!("{target}.Arn")))
        .flat_map(|statement| statement["Action"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|action| action.as_str().map(str::to_owned))
        .collect();
    actions.sort();
    actions
}

#[test]
fn the_template_schedules_the_analytics_binary_every_two_minutes_with_a_least_privilege_role() {
    let template = template();
    let function = &template["Resources"]["AnalyticsFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("analytics"));
    assert_eq!(function["Properties"]["Timeout"].as_u64(), Some(60));
    let events = function["Properties"]["Events"].as_mapping().expect("events");
    let schedules: Vec<&str> = events
        .values()
        .filter(|event| event["Type"].as_str() == Some("Schedule"))
        .filter_map(|event| event["Properties"]["Schedule"].as_str())
        .collect();
    assert_eq!(schedules, ["rate(2 minutes)"]);
    assert_eq!(
        actions_on(function, "RequestLogQueue"),
        ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    );
    assert_eq!(
        actions_on(function, "RequestLogTable"),
        ["dynamodb:PutItem", "dynamodb:TransactWriteItems", "dynamodb:UpdateItem"]
    );
    assert!(actions_on(function, "DomainTable").is_empty(), "analytics never touches the domain table");
}

#[test]
fn the_usage_function_may_only_query_the_request_log_and_look_keys_up() {
    let template = template();
    let function = &template["Resources"]["UsageFunction"];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("usage"));
    assert_eq!(actions_on(function, "RequestLogTable"), ["dynamodb:Query"]);
    // The key lookup that admits and counts each request, and no other domain item.
    assert_eq!(actions_on(function, "DomainTable"), ["dynamodb:UpdateItem"]);
    let statements = function["Properties"]["Policies"][0]["Statement"].as_sequence().expect("statements");
    let on_domain: Vec<_> =
        statements.iter().filter(|statement| format!("{:?}", statement["Resource"]).contains("DomainTable")).collect();
    assert_eq!(on_domain.len(), 1);
    let leading = &on_domain[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
    assert_eq!(leading[0].as_str(), Some("APIKEY#*"), "only key lookups: {leading:?}");
    let event = &function["Properties"]["Events"]["GetUsage"]["Properties"];
    assert_eq!((event["Method"].as_str(), event["Path"].as_str()), (Some("GET"), Some("/api/usage")));
}

#[test]
fn the_request_log_table_keeps_rows_90_days_and_its_writer_and_reader_get_its_name() {
    let template = template();
    let table = &template["Resources"]["RequestLogTable"]["Properties"];
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("expires_at"));
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(steller::request_log::ROW_TTL_DAYS, 90);
    for reader in ["AnalyticsFunction", "UsageFunction"] {
        let variable =
            &template["Resources"][reader]["Properties"]["Environment"]["Variables"]["STELLER_REQUEST_LOG_TABLE"];
        assert!(format!("{variable:?}").contains("RequestLogTable"), "{reader}: {variable:?}");
    }
    assert!(template["Outputs"]["RequestLogTableName"].is_mapping());
}
