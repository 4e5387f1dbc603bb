//! The dispatch and delivery binaries as real Lambdas, under the Runtime API emulator,
//! with the environment template.yaml gives them: a DynamoDB stream record of a new event
//! becomes one delivery message per endpoint; a delivery message becomes one attempt,
//! recorded on its event, reported back when it failed. Each binary's calls go through a
//! recording proxy and are checked against its role's policy in template.yaml.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use steller::domain::{EventType, Mode, NewEndpoint, PartnerId, RequestTopUp, TopUpAmount};
use steller::testing::TestDatabase;
use steller::testing::lambda::LambdaProcess;
use steller::testing::policy::assert_policy_allows;
use steller::testing::throttling::ThrottlingProxy;

/// A partner with an endpoint at `url` for `top_up.approved`, and the events of one
/// sandbox top-up (`top_up.requested`, `top_up.approved`, `wallet.credited`).
async fn a_partner_with_events(db: &TestDatabase, url: &str) -> (PartnerId, steller::domain::Endpoint) {
    let email = steller::testing::unique_email("hooked");
    let partner = steller::testing::sign_up(&db.store, "Hooked Ltd", &email, steller::domain::Money::dollars(10)).await;
    let id = partner.partner.id;
    let new = NewEndpoint {
        partner_id: id,
        mode: Mode::Sandbox,
        url: url.to_owned(),
        events: vec![EventType::TopUpApproved],
        description: None,
    };
    let endpoint = db.store.create_endpoint(&new).await.expect("the endpoint is stored");
    let top_up = RequestTopUp {
        partner_id: id,
        mode: Mode::Sandbox,
        amount: TopUpAmount::parse(Some("25.00")).expect("an amount"),
        payment_reference: None,
        note: None,
    };
    db.store.request_top_up(&top_up, None).await.expect("credited");
    (id, endpoint)
}

/// A stream record as Lambda's DynamoDB event source sends it (keys only, as the table's
/// stream is configured).
fn stream_record(name: &str, pk: &str, sk: &str, sequence: &str) -> Value {
    json!({
        "eventID": format!("id-{sequence}"),
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}, "SequenceNumber": sequence, "StreamViewType": "KEYS_ONLY"},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_event_in_the_stream_becomes_one_delivery_per_endpoint_that_wants_it() {
    let db = TestDatabase::aws_emulator().await;
    let sqs = steller::aws::sqs(&steller::aws::for_endpoint(&db.endpoint).await);
    let name = format!("{}-deliveries", steller::testing::unique_prefix());
    let queue = sqs.create_queue().queue_name(&name).send().await.expect("a queue").queue_url.expect("a url");
    let (partner, endpoint) = a_partner_with_events(&db, "https://8.8.8.8/hooks").await;
    let events = db.store.list_events(&partner, Mode::Sandbox, &Default::default()).await.expect("events");
    assert_eq!(events.items.len(), 3);
    let pk = format!("PARTNER#{partner}");
    let records: Vec<Value> = events
        .items
        .iter()
        .enumerate()
        .map(|(n, record)| stream_record("INSERT", &pk, &format!("EVENT#sandbox#{}", record.event.id), &n.to_string()))
        .chain([stream_record("MODIFY", &pk, "WALLET#sandbox", "9")])
        .collect();
    let resources =
        HashMap::from([("DomainTable", db.store.table().to_owned()), ("WebhookDeliveryQueue", queue.clone())]);
    let proxy = ThrottlingProxy::start(&db.endpoint, &[]).await;
    let lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_webhook-dispatch"), proxy.endpoint(), &resources).await;

    let answer = lambda.invoke(json!({ "Records": records })).await.response();

    assert_eq!(answer, json!({"batchItemFailures": []}));
    let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.expect("received");
    let bodies: Vec<Value> =
        received.messages().iter().map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("JSON")).collect();
    let approved = events.items.iter().find(|r| r.event.kind == EventType::TopUpApproved).expect("approved");
    assert_eq!(
        bodies,
        [json!({"partner_id": partner, "mode": "sandbox", "event_id": approved.event.id, "endpoint_id": endpoint.id})],
        "one delivery: the one endpoint wants only top_up.approved"
    );
    let after = db.store.list_events(&partner, Mode::Sandbox, &Default::default()).await.expect("events");
    assert!(after.items.iter().all(|record| record.dispatched), "every event is marked dispatched");

    // The stream gives a batch again: nothing is queued twice.
    let again = lambda.invoke(json!({ "Records": records })).await.response();
    assert_eq!(again, json!({"batchItemFailures": []}));
    let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(10).send().await.expect("received");
    assert!(received.messages().is_empty(), "{:?}", received.messages());
    assert!(proxy.calls("SendMessageBatch") > 0, "the calls went through the proxy: {:?}", proxy.operations());
    assert_policy_allows("WebhookDispatchFunction", &proxy.operations());
}

#[tokio::test(flavor = "multi_thread")]
async fn on_aws_a_delivery_to_an_address_on_this_machine_is_refused_recorded_and_given_back() {
    let db = TestDatabase::embedded().await;
    let hits = Arc::new(Mutex::new(0));
    let counted = hits.clone();
    let receiver = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                *counted.lock().expect("not poisoned") += 1;
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    // Written straight to the store: the API would have refused this URL on AWS.
    let (partner, endpoint) = a_partner_with_events(&db, &url).await;
    let events = db.store.list_events(&partner, Mode::Sandbox, &Default::default()).await.expect("events");
    let approved = events.items.iter().find(|r| r.event.kind == EventType::TopUpApproved).expect("approved");
    let delivery =
        json!({"partner_id": partner, "mode": "sandbox", "event_id": approved.event.id, "endpoint_id": endpoint.id});
    let message = |id: &str, body: String| {
        json!({
            "messageId": id,
            "receiptHandle": format!("handle-{id}"),
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
        })
    };
    let gone = json!({"partner_id": partner, "mode": "sandbox", "event_id": approved.event.id, "endpoint_id": steller::domain::EndpointId::generate()});
    let batch = json!({"Records": [
        message("refused", delivery.to_string()),
        message("malformed", "{not json".to_owned()),
        message("deleted-endpoint", gone.to_string()),
    ]});
    let resources =
        HashMap::from([("DomainTable", db.store.table().to_owned()), ("WebhookDeliveryQueue", String::new())]);
    let proxy = ThrottlingProxy::start(&db.endpoint, &[]).await;
    let lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_webhook-delivery"), proxy.endpoint(), &resources).await;

    let answer = lambda.invoke(batch).await.response();

    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "refused"}, {"itemIdentifier": "malformed"}]}),
        "the refused attempt comes back for its retry, the malformed message goes on to the dead-letter queue, and \
         a delivery to a deleted endpoint ends"
    );
    assert_eq!(*hits.lock().expect("not poisoned"), 0, "no request reached this machine");
    let record = db.store.event(&partner, Mode::Sandbox, &approved.event.id).await.expect("the event");
    let [attempt] = &record.attempts[..] else { panic!("one attempt: {:?}", record.attempts) };
    assert_eq!(attempt.status, None);
    let error = attempt.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("refused: url must use https"), "{error}");
    let failing = db.store.endpoint(&partner, Mode::Sandbox, &endpoint.id).await.expect("the endpoint");
    assert!(failing.failing_since.is_some(), "the endpoint is noted as failing");
    assert!(proxy.calls("UpdateItem") > 0, "the calls went through the proxy: {:?}", proxy.operations());
    assert_policy_allows("WebhookDeliveryFunction", &proxy.operations());
}

/// On the AWS emulator's SQS: a failed attempt hides its message for the schedule's next
/// pause (5 s after the first), so it comes back then, counted as the second attempt.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attempt_brings_its_message_back_after_the_next_pause() {
    use aws_sdk_sqs::types::MessageSystemAttributeName;

    let db = TestDatabase::aws_emulator().await;
    let sqs = steller::aws::sqs(&steller::aws::for_endpoint(&db.endpoint).await);
    let name = format!("{}-deliveries", steller::testing::unique_prefix());
    let queue = sqs.create_queue().queue_name(&name).send().await.expect("a queue").queue_url.expect("a url");
    // An address on this machine: refused on AWS, so the attempt fails without a receiver.
    let (partner, endpoint) = a_partner_with_events(&db, "http://127.0.0.1:9/hooks").await;
    let events = db.store.list_events(&partner, Mode::Sandbox, &Default::default()).await.expect("events");
    let approved = events.items.iter().find(|r| r.event.kind == EventType::TopUpApproved).expect("approved");
    let delivery =
        json!({"partner_id": partner, "mode": "sandbox", "event_id": approved.event.id, "endpoint_id": endpoint.id});
    sqs.send_message().queue_url(&queue).message_body(delivery.to_string()).send().await.expect("queued");
    let receive = || {
        sqs.receive_message()
            .queue_url(&queue)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .max_number_of_messages(1)
            .send()
    };
    let first = receive().await.expect("received").messages.unwrap_or_default();
    let [message] = &first[..] else { panic!("one message: {first:?}") };
    let record = json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs",
    });
    let resources =
        HashMap::from([("DomainTable", db.store.table().to_owned()), ("WebhookDeliveryQueue", queue.clone())]);
    let lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_webhook-delivery"), &db.endpoint, &resources).await;

    let answer = lambda.invoke(json!({ "Records": [record] })).await.response();

    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": message.message_id()}]}));
    assert!(receive().await.expect("received").messages.unwrap_or_default().is_empty(), "hidden for the pause");
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    let again = receive().await.expect("received").messages.unwrap_or_default();
    let [back] = &again[..] else { panic!("the message is back after 5 s: {again:?}") };
    assert_eq!(back.message_id(), message.message_id());
    let count = back.attributes().and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount)).cloned();
    assert_eq!(count.as_deref(), Some("2"), "the second attempt");
}
