//! Reading back what a test app sent: the in-process outbox on dynoxide, SES's record on
//! the AWS emulator (moto's `/moto-api/data.json` or LocalStack's `/_aws/ses`), and a
//! sender that always fails.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::email::{Email, EmailError, EmailSender, Outbox};

/// Where a `TestApp`'s emails go, so the test can read them back.
#[derive(Debug, Clone)]
pub(super) enum Mailbox {
    Outbox(Outbox),
    /// SES on the AWS emulator; the app sends from `sender`, an address no other test
    /// uses, which is how its emails are told apart on the shared emulator.
    Emulator {
        endpoint: String,
        sender: String,
    },
}

impl Mailbox {
    pub(super) fn outbox(&self) -> Vec<Email> {
        match self {
            Mailbox::Outbox(outbox) => outbox.sent(),
            Mailbox::Emulator { .. } => {
                panic!("this app sends through SES on the AWS emulator; read its emails with sent_emails().await")
            }
        }
    }

    pub(super) async fn sent(&self) -> Vec<Email> {
        match self {
            Mailbox::Outbox(outbox) => outbox.sent(),
            Mailbox::Emulator { endpoint, sender } => {
                SesRecord::read(endpoint).await.emails().into_iter().filter(|email| email.from == *sender).collect()
            }
        }
    }
}

/// Every message SES on the emulator at `endpoint` has accepted, oldest first, in moto's
/// shape: `{"id", "source", "subject", "body", "destinations": {"ToAddresses": […]}}`,
/// where `body` is the HTML body when there is one, else the text body. LocalStack's
/// messages are put in that shape too, so a test reads them the same on both emulators.
pub async fn emulator_sent_emails(endpoint: &str) -> Vec<Value> {
    SesRecord::read(endpoint).await.in_moto_shape()
}

/// SES's record of sent messages, as the emulator that keeps it writes them. Each
/// emulator has its own route and shape, and neither knows the other's.
#[derive(Debug, PartialEq)]
enum SesRecord {
    /// moto's `data["ses"]["Message"]`: one body only, the HTML one when there is one.
    Moto(Vec<Value>),
    /// LocalStack's `messages`: `{"Id", "Region", "Source", "Destination", "Subject",
    /// "Body": {"text_part", "html_part"}, "Timestamp"}`, where `html_part` is null for a
    /// text-only email, and a raw send has `RawData` in place of Destination, Subject and
    /// Body (`SentEmail` in localstack-core/localstack/services/ses/models.py, served by
    /// `SesServiceApiResource` in services/ses/provider.py; docs.localstack.cloud, SES,
    /// "Retrieve Sent Emails").
    LocalStack(Vec<Value>),
}

/// What one GET answered: its JSON body, or what came back instead.
type Answer = Result<Value, String>;

impl SesRecord {
    /// Reads the record from whichever emulator is at `endpoint`. moto is asked first, as
    /// CI runs on it; LocalStack is asked only when moto's route gives no record, whatever
    /// the error it gave there. Panics naming both routes and their answers when neither
    /// gives one, as no test can go on without the record.
    async fn read(endpoint: &str) -> SesRecord {
        let endpoint = endpoint.trim_end_matches('/');
        // The emulator is on loopback: a proxy from the environment must not get in between.
        let client = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
        let moto_url = format!("{endpoint}/moto-api/data.json");
        let moto = get_json(&client, &moto_url).await;
        if let Some(record) = SesRecord::from_moto(&moto) {
            return record;
        }
        let localstack_url = format!("{endpoint}/_aws/ses");
        let localstack = get_json(&client, &localstack_url).await;
        SesRecord::from_localstack(&localstack).unwrap_or_else(|| {
            panic!("{}", unreadable(endpoint, &[(&moto_url, &moto), (&localstack_url, &localstack)]))
        })
    }

    /// moto's record, if `answer` is moto's `/moto-api/data.json`: a JSON object, with
    /// no `ses` key until SES has been used.
    fn from_moto(answer: &Answer) -> Option<SesRecord> {
        let data = answer.as_ref().ok().filter(|data| data.is_object())?;
        Some(SesRecord::Moto(data["ses"]["Message"].as_array().cloned().unwrap_or_default()))
    }

    /// LocalStack's record, if `answer` is LocalStack's `/_aws/ses`: `{"messages": […]}`.
    fn from_localstack(answer: &Answer) -> Option<SesRecord> {
        let messages = answer.as_ref().ok()?["messages"].as_array()?;
        Some(SesRecord::LocalStack(messages.clone()))
    }

    /// Every message as an `Email`: moto's with its one body as `html`, LocalStack's with both.
    fn emails(&self) -> Vec<Email> {
        match self {
            SesRecord::Moto(messages) => messages.iter().map(from_moto).collect(),
            SesRecord::LocalStack(messages) => messages.iter().map(from_localstack).collect(),
        }
    }

    /// The messages in moto's shape, which the tests reading `emulator_sent_emails`
    /// were written against.
    fn in_moto_shape(self) -> Vec<Value> {
        match self {
            SesRecord::Moto(messages) => messages,
            SesRecord::LocalStack(messages) => messages.iter().map(localstack_in_moto_shape).collect(),
        }
    }
}

/// GETs `url` as JSON. Any answer other than a JSON success is told back as what it was,
/// since on the wrong emulator that is expected, and it is what a failure must show.
async fn get_json(client: &reqwest::Client, url: &str) -> Answer {
    let response = client.get(url).send().await.map_err(|e| format!("failed: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("answered {status}, with a body that did not read: {e}"))?;
    if !status.is_success() {
        let body = if body.is_empty() { String::new() } else { format!(": {}", excerpt(&body)) };
        return Err(format!("answered {status}{body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("answered {status} with no JSON ({e}): {}", excerpt(&body)))
}

/// Why no SES record was found at `endpoint`: each route tried, and what it answered.
fn unreadable(endpoint: &str, attempts: &[(&str, &Answer)]) -> String {
    let answers: Vec<String> = attempts
        .iter()
        .map(|(url, answer)| match answer {
            Ok(json) => format!("GET {url} answered JSON that is not an SES record: {}", excerpt(&json.to_string())),
            Err(reason) => format!("GET {url} {reason}"),
        })
        .collect();
    format!("no SES record at {endpoint}, from moto or LocalStack; {}", answers.join("; "))
}

/// The start of a body, enough to tell what answered without flooding the failure.
fn excerpt(body: &str) -> String {
    const LIMIT: usize = 200;
    match body.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

/// One of moto's SES messages as an `Email`. moto keeps only one body (the HTML one, as
/// Steller always sends both), so `text` is empty: assert on `html` in scenarios that
/// run on both engines.
fn from_moto(message: &Value) -> Email {
    Email {
        from: text(&message["source"]),
        to: addresses(&message["destinations"]["ToAddresses"]),
        subject: text(&message["subject"]),
        text: String::new(),
        html: text(&message["body"]),
    }
}

/// One of LocalStack's SES messages as an `Email`, both bodies kept. A raw send has no
/// subject, recipients or bodies here (only `RawData`), so those are empty.
fn from_localstack(message: &Value) -> Email {
    Email {
        from: text(&message["Source"]),
        to: addresses(&message["Destination"]["ToAddresses"]),
        subject: text(&message["Subject"]),
        text: text(&message["Body"]["text_part"]),
        html: text(&message["Body"]["html_part"]),
    }
}

/// One of LocalStack's SES messages as moto would have recorded it: one body, the HTML
/// one when there is one. A field LocalStack did not record is null, as a lookup of a
/// missing key would be on moto's own messages.
fn localstack_in_moto_shape(message: &Value) -> Value {
    let body = &message["Body"];
    let html_or_text = if body["html_part"].is_string() { &body["html_part"] } else { &body["text_part"] };
    json!({
        "id": message["Id"],
        "source": message["Source"],
        "subject": message["Subject"],
        "body": html_or_text,
        "destinations": message["Destination"],
    })
}

/// A string field, empty when the emulator left it out or recorded something else.
fn text(field: &Value) -> String {
    field.as_str().unwrap_or_default().to_owned()
}

/// A list of addresses as `Email::to` holds them: joined with ", ".
fn addresses(list: &Value) -> String {
    let addresses: Vec<&str> = list.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    addresses.join(", ")
}
/// An `EmailSender` whose every send fails as if SES were down; it keeps what it was
/// asked to send, so a test can tell the failure path was taken.
#[derive(Debug, Clone, Default)]
pub struct FailingEmail {
    attempted: Outbox,
}

impl FailingEmail {
    pub fn new() -> Self {
        FailingEmail::default()
    }

    /// Every email it was asked (and failed) to send.
    pub fn attempted(&self) -> Vec<Email> {
        self.attempted.sent()
    }
}

#[async_trait]
impl EmailSender for FailingEmail {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        self.attempted.send(email).await?;
        Err(EmailError::Unavailable(std::io::Error::other("FailingEmail: the email service is down").into()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A message as LocalStack's `/_aws/ses` lists it (`SentEmail` in LocalStack's
    /// services/ses/models.py; Destination is SES's own, Cc and Bcc included).
    fn localstack_message(to: &[&str], text_part: Value, html_part: Value) -> Value {
        json!({
            "Id": "dqxhhgoutkmylpbc-ffuqlpjs-xxxx", "Region": "us-east-1",
            "Destination": {"ToAddresses": to, "CcAddresses": [], "BccAddresses": []},
            "Source": "no-reply@steller.example", "Subject": "Hi",
            "Body": {"text_part": text_part, "html_part": html_part},
            "Timestamp": "2025-01-31T10:00:00.000Z"
        })
    }

    /// An email with nothing but its sender.
    fn sent_by(from: &str) -> Email {
        Email { from: from.into(), to: String::new(), subject: String::new(), text: String::new(), html: String::new() }
    }

    #[test]
    fn a_moto_message_becomes_an_email_with_its_html_body() {
        let message = json!({
            "id": "abc", "source": "no-reply@steller.example", "subject": "Hi",
            "body": "<p>Hi</p>", "destinations": {"ToAddresses": ["dev@acme.example"]}
        });

        let email = from_moto(&message);

        assert_eq!((email.from.as_str(), email.to.as_str()), ("no-reply@steller.example", "dev@acme.example"));
        assert_eq!((email.subject.as_str(), email.html.as_str(), email.text.as_str()), ("Hi", "<p>Hi</p>", ""));
    }

    #[test]
    fn a_moto_message_to_several_recipients_lists_them_all() {
        let message = json!({"destinations": {"ToAddresses": ["a@acme.example", "b@acme.example"]}});

        assert_eq!(from_moto(&message).to, "a@acme.example, b@acme.example");
    }

    #[test]
    fn a_moto_message_missing_fields_becomes_an_email_of_empty_fields() {
        for message in [json!({}), json!(null), json!({"source": 7, "destinations": {"ToAddresses": "x"}})] {
            let email = from_moto(&message);

            assert_eq!(email, sent_by(""), "{message}");
        }
    }

    #[test]
    fn motos_data_json_is_read_as_its_ses_messages() {
        let message = json!({"id": "abc", "source": "no-reply@steller.example"});
        let data = json!({"ses": {"Message": [message.clone()], "RawMessage": []}, "sqs": {}});

        assert_eq!(SesRecord::from_moto(&Ok(data)), Some(SesRecord::Moto(vec![message])));
        assert_eq!(SesRecord::from_moto(&Ok(json!({"sqs": {}}))), Some(SesRecord::Moto(vec![])), "no SES used yet");
    }

    #[test]
    fn an_error_at_motos_route_is_no_record_so_localstack_is_asked() {
        let not_found = Err("answered 404 Not Found: <Error><Code>NoSuchBucket</Code></Error>".to_owned());

        assert_eq!(SesRecord::from_moto(&not_found), None);
        assert_eq!(SesRecord::from_moto(&Ok(json!(["not", "moto"]))), None);
    }

    #[test]
    fn localstacks_answer_is_read_as_its_messages() {
        let message = localstack_message(&["dev@acme.example"], json!("Hi"), json!("<p>Hi</p>"));
        let answer = Ok(json!({"messages": [message.clone()]}));

        assert_eq!(SesRecord::from_localstack(&answer), Some(SesRecord::LocalStack(vec![message])));
        assert_eq!(SesRecord::from_localstack(&Ok(json!({"messages": []}))), Some(SesRecord::LocalStack(vec![])));
    }

    #[test]
    fn an_answer_without_messages_is_not_localstacks_record() {
        assert_eq!(SesRecord::from_localstack(&Ok(json!({"ses": {}}))), None);
        assert_eq!(SesRecord::from_localstack(&Err("answered 404 Not Found: ".to_owned())), None);
    }

    #[test]
    fn a_localstack_message_becomes_an_email_with_both_its_bodies() {
        let message = localstack_message(&["dev@acme.example"], json!("Hi"), json!("<p>Hi</p>"));

        let email = from_localstack(&message);

        assert_eq!((email.from.as_str(), email.to.as_str()), ("no-reply@steller.example", "dev@acme.example"));
        assert_eq!((email.subject.as_str(), email.text.as_str(), email.html.as_str()), ("Hi", "Hi", "<p>Hi</p>"));
    }

    #[test]
    fn a_text_only_localstack_message_has_an_empty_html_body() {
        let email = from_localstack(&localstack_message(&["dev@acme.example"], json!("Hi"), json!(null)));

        assert_eq!((email.text.as_str(), email.html.as_str()), ("Hi", ""));
    }

    #[test]
    fn a_localstack_message_to_several_recipients_lists_them_all() {
        let message = localstack_message(&["a@acme.example", "b@acme.example"], json!("Hi"), json!("<p>Hi</p>"));

        assert_eq!(from_localstack(&message).to, "a@acme.example, b@acme.example");
    }

    #[test]
    fn a_raw_localstack_message_becomes_an_email_with_only_its_sender() {
        let raw = json!({
            "Id": "abc", "Region": "us-east-1", "Source": "no-reply@steller.example",
            "RawData": "From: no-reply@steller.example\nSubject: Hi\n\nHi", "Timestamp": "2025-01-31T10:00:00.000Z"
        });

        let email = from_localstack(&raw);

        assert_eq!(email, sent_by("no-reply@steller.example"));
        assert_eq!(from_localstack(&json!({})), sent_by(""), "an empty record does not panic either");
    }

    #[test]
    fn a_localstack_message_in_motos_shape_answers_the_lookups_tests_make() {
        let message = localstack_message(&["dev@acme.example", "ops@acme.example"], json!("Hi"), json!("<p>Hi</p>"));

        let moto = localstack_in_moto_shape(&message);

        assert_eq!(moto["destinations"]["ToAddresses"][0], "dev@acme.example");
        assert_eq!((moto["source"].as_str(), moto["subject"].as_str()), (Some("no-reply@steller.example"), Some("Hi")));
        assert_eq!(moto["body"], "<p>Hi</p>", "the HTML body, as moto keeps it");
        assert_eq!(from_moto(&moto).to, "dev@acme.example, ops@acme.example");
    }

    #[test]
    fn a_text_only_localstack_message_in_motos_shape_has_the_text_body() {
        let moto = localstack_in_moto_shape(&localstack_message(&["dev@acme.example"], json!("Hi"), json!(null)));

        assert_eq!(moto["body"], "Hi");
    }

    #[test]
    fn a_raw_localstack_message_in_motos_shape_has_nulls_where_it_recorded_nothing() {
        let raw =
            json!({"Id": "abc", "Source": "no-reply@steller.example", "RawData": "From: no-reply@steller.example"});

        let moto = localstack_in_moto_shape(&raw);

        assert_eq!(moto["source"], "no-reply@steller.example");
        assert!(
            moto["subject"].is_null() && moto["body"].is_null() && moto["destinations"]["ToAddresses"][0].is_null()
        );
    }

    #[test]
    fn a_record_is_read_in_motos_shape_from_either_emulator() {
        let moto_message = json!({"source": "no-reply@steller.example", "body": "<p>Hi</p>"});
        let localstack = localstack_message(&["dev@acme.example"], json!("Hi"), json!("<p>Hi</p>"));

        assert_eq!(SesRecord::Moto(vec![moto_message.clone()]).in_moto_shape(), vec![moto_message]);
        assert_eq!(SesRecord::LocalStack(vec![localstack.clone()]).in_moto_shape()[0]["body"], "<p>Hi</p>");
        assert_eq!(SesRecord::LocalStack(vec![localstack]).emails()[0].text, "Hi", "the text body is kept");
    }

    #[test]
    fn the_failure_names_each_route_tried_and_what_it_answered() {
        let moto = Err("answered 404 Not Found: nothing here".to_owned());
        let localstack = Ok(json!({"unexpected": true}));

        let failure = unreadable(
            "http://localhost:4566",
            &[("http://localhost:4566/moto-api/data.json", &moto), ("http://localhost:4566/_aws/ses", &localstack)],
        );

        assert!(failure.contains("GET http://localhost:4566/moto-api/data.json answered 404 Not Found"), "{failure}");
        assert!(
            failure.contains(
                r#"GET http://localhost:4566/_aws/ses answered JSON that is not an SES record: {"unexpected":true}"#
            ),
            "{failure}"
        );
    }

    /// Serves `routes` on loopback, standing in for an emulator, and returns its endpoint.
    async fn emulator(routes: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("the bound address");
        tokio::spawn(async move { axum::serve(listener, routes).await.expect("the stand-in serves") });
        format!("http://{address}/")
    }

    #[tokio::test]
    async fn an_emulator_with_motos_route_is_read_as_moto() {
        let data = json!({"ses": {"Message": [{"source": "no-reply@steller.example", "body": "<p>Hi</p>"}]}});
        let routes =
            axum::Router::new().route("/moto-api/data.json", axum::routing::get(|| async { axum::Json(data) }));

        let endpoint = emulator(routes).await;

        assert_eq!(SesRecord::read(&endpoint).await.emails()[0].html, "<p>Hi</p>");
    }

    #[tokio::test]
    async fn an_emulator_without_motos_route_is_read_as_localstack() {
        let message = localstack_message(&["dev@acme.example"], json!("Hi"), json!("<p>Hi</p>"));
        let answer = json!({"messages": [message]});
        let routes = axum::Router::new().route("/_aws/ses", axum::routing::get(|| async { axum::Json(answer) }));

        let endpoint = emulator(routes).await;

        assert_eq!(SesRecord::read(&endpoint).await.emails()[0].text, "Hi");
        assert_eq!(emulator_sent_emails(&endpoint).await[0]["destinations"]["ToAddresses"][0], "dev@acme.example");
    }

    #[tokio::test]
    #[should_panic(expected = "/moto-api/data.json answered 404 Not Found")]
    async fn an_endpoint_with_neither_record_fails_saying_what_answered() {
        let endpoint = emulator(axum::Router::new()).await;

        SesRecord::read(&endpoint).await;
    }

    #[test]
    fn a_long_answer_is_cut_in_the_failure() {
        let long = "é".repeat(500);

        assert_eq!(excerpt(&long).chars().count(), 201);
        assert_eq!(excerpt("short"), "short");
    }
}
