//! The IAM policies of template.yaml against what a function binary does: no engine
//! here enforces IAM, so the tests record each binary's AWS calls through a proxy and
//! check every one against its function's inline policy.

/// Asserts that template.yaml's inline policy for function `logical_id` allows each of
/// `operations` (as the recording proxy names them: `BatchGetItem`, `SendMessage`, …).
#[track_caller]
pub fn assert_policy_allows(logical_id: &str, operations: &std::collections::BTreeSet<String>) {
    let allowed = policy_actions(logical_id);
    let refused: Vec<String> =
        operations.iter().map(|operation| iam_action(operation)).filter(|action| !allowed.contains(action)).collect();
    assert!(
        refused.is_empty(),
        "{logical_id} calls {refused:?}, which its policy in template.yaml does not allow (it allows {allowed:?}): \
         on AWS each would be AccessDenied"
    );
}

/// The statements of function `logical_id`'s one inline policy in template.yaml: its
/// `Policies`, or, for a function with a role of its own (`Role: !GetAtt <Role>.Arn`),
/// that role's one policy document.
pub fn function_statements(template: &serde_norway::Value, logical_id: &str) -> Vec<serde_norway::Value> {
    let statements = match own_role(template, logical_id) {
        Some(role) => {
            let policies = &template["Resources"][role]["Properties"]["Policies"];
            assert_eq!(policies.as_sequence().map(Vec::len), Some(1), "{role}: one inline policy");
            &policies[0]["PolicyDocument"]["Statement"]
        }
        None => {
            let policies = &template["Resources"][logical_id]["Properties"]["Policies"];
            assert_eq!(policies.as_sequence().map(Vec::len), Some(1), "{logical_id}: one inline policy");
            &policies[0]["Statement"]
        }
    };
    statements.as_sequence().unwrap_or_else(|| panic!("{logical_id} has an inline policy of statements")).clone()
}

/// The logical id of the role function `logical_id` is given (`Role: !GetAtt <Role>.Arn`),
/// or `None` when SAM makes its role from its `Policies`.
pub fn own_role<'t>(template: &'t serde_norway::Value, logical_id: &str) -> Option<&'t str> {
    match &template["Resources"][logical_id]["Properties"]["Role"] {
        serde_norway::Value::Null => None,
        serde_norway::Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            let role = tagged.value.as_str().and_then(|att| att.strip_suffix(".Arn"));
            Some(role.unwrap_or_else(|| panic!("{logical_id}'s Role is !GetAtt <a role>.Arn")))
        }
        other => panic!("{logical_id}'s Role is neither absent nor a role of the stack: {other:?}"),
    }
}

/// The actions of function `logical_id`'s inline policy in template.yaml.
fn policy_actions(logical_id: &str) -> std::collections::BTreeSet<String> {
    let template: serde_norway::Value = serde_norway::from_str(crate::schema::TEMPLATE).expect("template.yaml parses");
    function_statements(&template, logical_id)
        .iter()
        .filter_map(|statement| statement["Action"].as_sequence())
        .flatten()
        .filter_map(|action| action.as_str().map(str::to_owned))
        .collect()
}

/// The IAM action an operation needs. SQS batches are authorised by their one-message
/// action; everything not SQS or SES is DynamoDB.
fn iam_action(operation: &str) -> String {
    match operation {
        "SendMessage" | "SendMessageBatch" => "sqs:SendMessage".into(),
        "ReceiveMessage" | "GetQueueAttributes" | "ChangeMessageVisibility" => format!("sqs:{operation}"),
        "DeleteMessage" | "DeleteMessageBatch" => "sqs:DeleteMessage".into(),
        "SendEmail" | "SendRawEmail" => format!("ses:{operation}"),
        other => format!("dynamodb:{other}"),
    }
}
