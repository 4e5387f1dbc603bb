//! Sign-in codes in the store, on both engines: an address is sent at most
//! `CODES_PER_WINDOW` codes a window at each door, counted with conditional writes so
//! parallel asks cannot slip past the bound; a refused ask changes nothing; the item
//! outlives the window while the code itself still lasts `CODE_MINUTES`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use steller::domain::{
    Audience, CODE_MINUTES, CODE_WINDOW_MINUTES, CODES_PER_WINDOW, Email, PartnerId, SessionId, SessionOwner,
    SignInCode, Timestamp,
};
use steller::store::{Asked, Redeemed};
use steller::testing::TestApp;

mod support;

on_both_engines!(
    an_address_is_sent_at_most_five_codes_a_window_at_each_door,
    parallel_asks_never_pass_the_bound,
    the_code_lasts_ten_minutes_and_its_item_the_whole_window,
    a_code_kept_before_windows_still_works_and_the_next_ask_starts_one,
);

fn later(at: Timestamp, seconds: i64) -> Timestamp {
    at.plus_seconds(seconds)
}

async fn partner(app: &TestApp) -> (Email, SessionOwner) {
    let partner = app.new_partner().await;
    let id: PartnerId = partner.id.parse().expect("a partner id");
    (Email::parse(Some(&partner.email)).expect("a valid address"), SessionOwner::Partner(id))
}

async fn ask(app: &TestApp, audience: Audience, email: &Email, at: Timestamp) -> (Asked, SignInCode) {
    let code = SignInCode::generate();
    let asked = app.state.store.issue_sign_in_code(audience, email, &code, at).await.expect("asked");
    (asked, code)
}

async fn redeem(app: &TestApp, email: &Email, code: &SignInCode, owner: &SessionOwner, at: Timestamp) -> Redeemed {
    let store = &app.state.store;
    let id = SessionId::generate();
    store.redeem_sign_in_code(Audience::Partner, email, code, &id, Some(owner.clone()), at).await.expect("redeemed")
}

async fn code_item(app: &TestApp, pk: &str) -> HashMap<String, AttributeValue> {
    let key = HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("CODE"))]);
    let store = &app.state.store;
    let found = store.client().get_item().table_name(store.table()).set_key(Some(key)).send().await.expect("read");
    found.item.expect("the code's item")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name).and_then(|value| value.as_n().ok()).and_then(|raw| raw.parse().ok()).unwrap_or(-1)
}

async fn an_address_is_sent_at_most_five_codes_a_window_at_each_door(app: TestApp) {
    let (email, owner) = partner(&app).await;
    let start = Timestamp::now();
    let mut last = None;
    for minute in 0..i64::from(CODES_PER_WINDOW) {
        let (asked, code) = ask(&app, Audience::Partner, &email, later(start, minute * 60)).await;
        assert_eq!(asked, Asked::Kept, "code {} of the window", minute + 1);
        last = Some(code);
    }
    let last = last.expect("five codes");
    let near_the_end = later(start, CODE_WINDOW_MINUTES * 60 - 1);

    let (sixth, refused_code) = ask(&app, Audience::Partner, &email, later(start, 5 * 60)).await;
    let (at_the_end, _) = ask(&app, Audience::Partner, &email, near_the_end).await;
    let (other_door, _) = ask(&app, Audience::Ops, &email, later(start, 5 * 60)).await;

    let window = u32::try_from(CODE_WINDOW_MINUTES * 60).expect("an hour");
    assert_eq!(
        (sixth, at_the_end),
        (Asked::TooOften { retry_after: window - 5 * 60 }, Asked::TooOften { retry_after: 1 }),
        "the window lasts an hour from the first code, and each refusal says when it ends"
    );
    assert_eq!(other_door, Asked::Kept, "each door counts its own codes");
    let typed_refused = redeem(&app, &email, &refused_code, &owner, later(start, 6 * 60)).await;
    assert!(
        matches!(typed_refused, Redeemed::Wrong { tries_left: 4 }) || refused_code == last,
        "a refused code is not kept: {typed_refused:?}"
    );
    let opened = redeem(&app, &email, &last, &owner, later(start, 6 * 60)).await;
    assert!(matches!(opened, Redeemed::Opened(_)), "the code sent before the refusals still works: {opened:?}");
    let (next_window, code) = ask(&app, Audience::Partner, &email, later(start, CODE_WINDOW_MINUTES * 60)).await;
    assert_eq!(next_window, Asked::Kept, "a new window starts once the first has ended");
    let opened = redeem(&app, &email, &code, &owner, later(start, CODE_WINDOW_MINUTES * 60 + 1)).await;
    assert!(matches!(opened, Redeemed::Opened(_)), "{opened:?}");
}

async fn parallel_asks_never_pass_the_bound(app: TestApp) {
    let (email, _) = partner(&app).await;
    let at = Timestamp::now();
    let instances = app.instances(4);

    let asks = (0..12).map(|turn| {
        let (instance, email) = (&instances[turn % instances.len()], email.clone());
        async move {
            let code = SignInCode::generate();
            instance.state.store.issue_sign_in_code(Audience::Partner, &email, &code, at).await.expect("asked")
        }
    });
    let answers = join_all(asks).await;

    let kept = answers.iter().filter(|asked| **asked == Asked::Kept).count();
    assert_eq!(kept, CODES_PER_WINDOW as usize, "{answers:?}");
}

async fn the_code_lasts_ten_minutes_and_its_item_the_whole_window(app: TestApp) {
    let (email, owner) = partner(&app).await;
    let start = Timestamp::now();
    ask(&app, Audience::Partner, &email, start).await;
    let (_, code) = ask(&app, Audience::Partner, &email, later(start, 55 * 60)).await;

    let item = code_item(&app, &format!("SIGNIN#partner#{}", email.as_str())).await;
    let late = redeem(&app, &email, &code, &owner, later(start, (55 + CODE_MINUTES) * 60)).await;

    assert_eq!(n(&item, "codes"), 2);
    assert_eq!(n(&item, "window_start"), start.unix_seconds());
    assert_eq!(n(&item, "code_expires_at"), later(start, (55 + CODE_MINUTES) * 60).unix_seconds());
    assert!(n(&item, "expires_at") >= later(start, CODE_WINDOW_MINUTES * 60).unix_seconds(), "kept for the window");
    assert!(n(&item, "expires_at") >= n(&item, "code_expires_at"), "and for the code");
    assert_eq!(late, Redeemed::Void, "the code itself lasts {CODE_MINUTES} minutes");
}

async fn a_code_kept_before_windows_still_works_and_the_next_ask_starts_one(app: TestApp) {
    let (email, owner) = partner(&app).await;
    let at = Timestamp::now();
    let code = SignInCode::generate();
    let pk = format!("SIGNIN#partner#{}", email.as_str());
    let old_shape = HashMap::from([
        ("pk".to_owned(), s(&pk)),
        ("sk".to_owned(), s("CODE")),
        ("code_hash".to_owned(), s(&code.hash(&email))),
        ("tries".to_owned(), AttributeValue::N("0".into())),
        ("created_at".to_owned(), s(&at.to_string())),
        ("expires_at".to_owned(), AttributeValue::N(later(at, CODE_MINUTES * 60).unix_seconds().to_string())),
    ]);
    let store = &app.state.store;
    store.client().put_item().table_name(store.table()).set_item(Some(old_shape)).send().await.expect("written");

    let expired = redeem(&app, &email, &code, &owner, later(at, CODE_MINUTES * 60)).await;
    let opened = redeem(&app, &email, &code, &owner, later(at, 60)).await;
    let (asked, _) = ask(&app, Audience::Partner, &email, later(at, 120)).await;

    assert_eq!(expired, Redeemed::Void, "its expiry is still its expires_at");
    assert!(matches!(opened, Redeemed::Opened(_)), "{opened:?}");
    assert_eq!(asked, Asked::Kept);
    assert_eq!(n(&code_item(&app, &pk).await, "codes"), 1, "a window starts");
}
