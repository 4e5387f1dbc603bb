//! A hot wallet: 16 concurrent clients placing orders on ONE wallet, against the same
//! number of orders from 16 clients on 16 wallets, through `steller::Store` on the
//! embedded engine. The engine proxy counts the transactions DynamoDB cancelled (lost
//! races the store retried), and the money is checked afterwards.
//!
//! One wallet is run three ways: with the clients sharing one `Store`, as the requests of
//! one process do (the local server, or one multi-concurrent Lambda environment); with a
//! `Store` each, as 16 Lambda instances on default environments (each serving one request
//! at a time) would; and with the clients spread over three `Store`s, as three
//! multi-concurrent environments would (Lambda Managed Instances start three; ADR 0019).
//! A store remembers the balances its own movements saw and writes its waiting movements
//! together, so the three differ.
//!
//! Each run starts on an empty engine of its own. The four runs make a round, and the
//! section runs several rounds one after another: on a shared two-core machine one
//! round's ratio moves by 0.1× or more, so the verdicts are on the median of the rounds'
//! ratios, with every round's shown.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use steller::Store;
use steller::domain::{Mode, Money, PartnerId, PlaceOrder, Product, Quantity};

use crate::embedded::{Engine, sign_up};
use crate::stats::{median_of, per_second, round2, times};

/// Targets of issue 12: one wallet's throughput at least this share of 16 wallets', and
/// at most this many cancelled transactions per committed order.
pub const THROUGHPUT_RATIO_TARGET: f64 = 0.5;
pub const CANCELLED_PER_ORDER_TARGET: f64 = 1.0;

/// The round at AWS's round trip places this share of `--per-client` orders per client:
/// each order takes tens of milliseconds there, and the figure is a rate, not a ratio.
pub const LATENCY_ORDERS_DIVISOR: usize = 5;

/// How many multi-concurrent environments the third way of running one wallet spreads
/// the clients over: as many as Lambda Managed Instances start for a function (one per
/// availability zone), the fewest a busy function runs on.
pub const ENVIRONMENTS: usize = 3;

/// Each signup's sandbox credit: far more than its orders spend, so no order is refused.
const CREDIT_DOLLARS: u32 = 10_000;

/// One layout's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotWalletRun {
    pub wallets: usize,
    pub clients: usize,
    /// How many `Store`s the clients used: 1 (shared), `ENVIRONMENTS`, or one each.
    pub stores: usize,
    pub attempted: usize,
    pub committed: usize,
    /// Orders that failed (the store gave up on a wallet that kept changing: 503).
    pub failed: usize,
    pub seconds: f64,
    pub orders_per_second: Option<f64>,
    /// `TransactWriteItems` answered with `TransactionCanceledException`.
    pub cancelled: usize,
    pub cancelled_per_order: Option<f64>,
    /// Every wallet ends at its start less its committed orders, none below zero, and
    /// the ledger audit finds nothing.
    pub money_held: bool,
}

/// One round: the layouts and how they compare.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotWalletRound {
    /// One wallet, the clients sharing one store.
    pub one_wallet: HotWalletRun,
    /// One wallet, each client with a store of its own.
    pub one_wallet_separate_stores: HotWalletRun,
    /// One wallet, the clients spread over `ENVIRONMENTS` stores.
    pub one_wallet_environments: HotWalletRun,
    pub spread: HotWalletRun,
    /// One wallet's orders per second (shared store) against the spread layout's.
    pub throughput_ratio: Option<f64>,
    /// The same, with a store per client.
    pub separate_stores_throughput_ratio: Option<f64>,
    /// The same, over `ENVIRONMENTS` stores.
    pub environments_throughput_ratio: Option<f64>,
}

impl HotWalletRound {
    pub fn new(
        one_wallet: HotWalletRun,
        one_wallet_separate_stores: HotWalletRun,
        one_wallet_environments: HotWalletRun,
        spread: HotWalletRun,
    ) -> Self {
        let ratio = |one: &HotWalletRun| {
            one.orders_per_second.zip(spread.orders_per_second).and_then(|(one, spread)| times(one, spread))
        };
        HotWalletRound {
            throughput_ratio: ratio(&one_wallet),
            separate_stores_throughput_ratio: ratio(&one_wallet_separate_stores),
            environments_throughput_ratio: ratio(&one_wallet_environments),
            one_wallet,
            one_wallet_separate_stores,
            one_wallet_environments,
            spread,
        }
    }

    /// Every run of the round, in the order they ran.
    pub fn runs(&self) -> [&HotWalletRun; 4] {
        [&self.one_wallet, &self.one_wallet_separate_stores, &self.one_wallet_environments, &self.spread]
    }
}

/// Every round, and the verdicts' figures over them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotWalletFigures {
    /// In the order they ran.
    pub rounds: Vec<HotWalletRound>,
    /// The median over the rounds of one wallet's orders per second (shared store)
    /// against the spread layout's.
    pub throughput_ratio: Option<f64>,
    /// The same, with a store per client.
    pub separate_stores_throughput_ratio: Option<f64>,
    /// The same, over `ENVIRONMENTS` stores.
    pub environments_throughput_ratio: Option<f64>,
    /// The most cancelled transactions per committed order in any round, for each way of
    /// running the one wallet.
    pub most_cancelled_per_order: Option<f64>,
    pub separate_stores_most_cancelled_per_order: Option<f64>,
    pub environments_most_cancelled_per_order: Option<f64>,
    /// Orders that failed in all the rounds, and whether the money held in every run.
    pub failed: usize,
    pub money_held: bool,
}

impl HotWalletFigures {
    pub fn new(rounds: Vec<HotWalletRound>) -> Self {
        let ratios = |pick: fn(&HotWalletRound) -> Option<f64>| rounds.iter().filter_map(pick).collect::<Vec<_>>();
        let most = |pick: fn(&HotWalletRound) -> Option<f64>| rounds.iter().filter_map(pick).reduce(f64::max);
        let runs = || rounds.iter().flat_map(HotWalletRound::runs);
        let throughput_ratio = median_of(&ratios(|round| round.throughput_ratio));
        let separate_stores_throughput_ratio = median_of(&ratios(|round| round.separate_stores_throughput_ratio));
        let environments_throughput_ratio = median_of(&ratios(|round| round.environments_throughput_ratio));
        let most_cancelled_per_order = most(|round| round.one_wallet.cancelled_per_order);
        let separate_stores_most_cancelled_per_order =
            most(|round| round.one_wallet_separate_stores.cancelled_per_order);
        let environments_most_cancelled_per_order = most(|round| round.one_wallet_environments.cancelled_per_order);
        let failed = runs().map(|run| run.failed).sum();
        let money_held = runs().all(|run| run.money_held);
        HotWalletFigures {
            rounds,
            throughput_ratio,
            separate_stores_throughput_ratio,
            environments_throughput_ratio,
            most_cancelled_per_order,
            separate_stores_most_cancelled_per_order,
            environments_most_cancelled_per_order,
            failed,
            money_held,
        }
    }
}

/// Whether the clients share one store, are spread over `ENVIRONMENTS`, or have one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stores {
    Shared,
    Environments,
    OneEach,
}

/// What one client got: the totals of its committed orders, and its failures.
#[derive(Debug, Default)]
struct ClientOutcome {
    committed: Vec<Money>,
    failed: usize,
}

/// `rounds` rounds of `clients` clients each placing `orders_per_client` orders, first
/// all on one wallet (sharing a store, then a store each, then over `ENVIRONMENTS`
/// stores), then each on its own.
pub async fn measure(clients: usize, orders_per_client: usize, rounds: usize) -> anyhow::Result<HotWalletFigures> {
    let mut measured = Vec::new();
    for _ in 0..rounds {
        measured.push(round(clients, orders_per_client, Duration::ZERO).await?);
    }
    Ok(HotWalletFigures::new(measured))
}

/// One round of the four layouts, every call to the engine held `per_call`: zero for the
/// section's rounds, or AWS's round trip (`AWS_LATENCY`) to see how many orders one wallet
/// commits per second when each transaction takes that long, and how often instances
/// racing over it lose.
pub async fn round(clients: usize, orders_per_client: usize, per_call: Duration) -> anyhow::Result<HotWalletRound> {
    let product = cheapest_product()?;
    let layout = |wallets, stores| on_a_fresh_engine(&product, clients, orders_per_client, wallets, stores, per_call);
    let one_wallet = layout(Wallets::One, Stores::Shared).await?;
    let separate = layout(Wallets::One, Stores::OneEach).await?;
    let environments = layout(Wallets::One, Stores::Environments).await?;
    let spread = layout(Wallets::OneEach, Stores::Shared).await?;
    Ok(HotWalletRound::new(one_wallet, separate, environments, spread))
}

/// Whether the clients order on one wallet or on one each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wallets {
    One,
    OneEach,
}

/// One layout's run on an engine of its own, started empty, with the catalog seeded and
/// the partners signed up. The engine slows as its tables grow (on one shared engine the
/// 16-wallet rate fell from about 870 to 660 orders/s after one round's 4,800 orders),
/// so each run starts from the same empty tables and the layouts compare fairly. Every
/// call to the engine is held `per_call` (zero for the section's rounds).
async fn on_a_fresh_engine(
    product: &Product,
    clients: usize,
    orders_per_client: usize,
    wallets: Wallets,
    stores: Stores,
    per_call: Duration,
) -> anyhow::Result<HotWalletRun> {
    let engine = Engine::start(per_call).await?;
    steller::seed::seed_products(&engine.store).await.context("seeding the catalog")?;
    let partners = if wallets == Wallets::One { 1 } else { clients };
    let mut signed_up = Vec::new();
    for index in 0..partners {
        signed_up.push(sign_up(&engine.store, &format!("hot-wallet-{index}"), CREDIT_DOLLARS).await?.partner.id);
    }
    let owners = match wallets {
        Wallets::One => vec![signed_up[0]; clients],
        Wallets::OneEach => signed_up,
    };
    run(&engine, product, &owners, orders_per_client, stores).await
}

/// One client per entry of `wallets` (the same partner may come several times).
async fn run(
    engine: &Engine,
    product: &Product,
    wallets: &[PartnerId],
    orders_per_client: usize,
    stores: Stores,
) -> anyhow::Result<HotWalletRun> {
    let store = &engine.store;
    let mut distinct: Vec<PartnerId> = wallets.to_vec();
    distinct.sort();
    distinct.dedup();
    let mut before = Vec::new();
    for partner in &distinct {
        before.push(store.wallet(partner, Mode::Sandbox).await?.balance);
    }
    let quantity = Quantity::try_from(1_i64)?;
    let commands = wallets
        .iter()
        .map(|partner| PlaceOrder::new(*partner, Mode::Sandbox, product.clone(), quantity, None))
        .collect::<Result<Vec<_>, _>>()?;
    engine.proxy.take();
    let started = Instant::now();
    // Each environment's memory of balances and its wallet turns, over the same SDK client.
    let environments: Vec<Store> = (0..ENVIRONMENTS).map(|_| store.another_instance()).collect();
    // Each client its own task, so the clients run on every core, as separate callers would.
    let tasks: Vec<_> = commands
        .into_iter()
        .enumerate()
        .map(|(index, command)| {
            let store = match stores {
                Stores::Shared => store.clone(),
                // The clients taken in turn, as a router spreads requests.
                Stores::Environments => environments[index % ENVIRONMENTS].clone(),
                Stores::OneEach => store.another_instance(),
            };
            tokio::spawn(client(store, command, orders_per_client))
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.context("a client panicked")?);
    }
    let elapsed = started.elapsed();
    let counts = engine.proxy.take();

    let mut money_held = store.audit().await?.is_clean();
    for (partner, start) in distinct.iter().zip(before) {
        let spent = wallets
            .iter()
            .zip(&outcomes)
            .filter(|(owner, _)| *owner == partner)
            .flat_map(|(_, outcome)| outcome.committed.iter().copied())
            .try_fold(Money::dollars(0), |sum, total| sum + total)?;
        let balance = store.wallet(partner, Mode::Sandbox).await?.balance;
        money_held &= (start - spent).is_ok_and(|expected| expected == balance) && !balance.is_negative();
    }
    let committed = outcomes.iter().map(|outcome| outcome.committed.len()).sum();
    Ok(HotWalletRun {
        wallets: distinct.len(),
        clients: wallets.len(),
        stores: match stores {
            Stores::Shared => 1,
            Stores::Environments => ENVIRONMENTS.min(wallets.len()),
            Stores::OneEach => wallets.len(),
        },
        attempted: wallets.len() * orders_per_client,
        committed,
        failed: outcomes.iter().map(|outcome| outcome.failed).sum(),
        seconds: round2(elapsed.as_secs_f64()),
        orders_per_second: per_second(committed, elapsed),
        cancelled: counts.cancelled,
        cancelled_per_order: (committed > 0).then(|| round2(counts.cancelled as f64 / committed as f64)),
        money_held,
    })
}

async fn client(store: Store, command: PlaceOrder, orders: usize) -> ClientOutcome {
    let mut outcome = ClientOutcome::default();
    for _ in 0..orders {
        match store.place_order(&command, None).await {
            Ok(order) => outcome.committed.push(order.total),
            Err(_) => outcome.failed += 1,
        }
    }
    outcome
}

fn cheapest_product() -> anyhow::Result<Product> {
    steller::seed::products()?
        .into_iter()
        .filter(|product| product.active)
        .min_by_key(|product| product.unit_price.decimal())
        .context("the seed has an active product")
}

/// The hot-wallet table as printed: every round's four runs, then the ratios over the
/// rounds and the verdicts.
pub fn hot_wallet_table(figures: &HotWalletFigures) -> String {
    let mut table = runs_table(&figures.rounds);
    let spread = figures.rounds.first().map_or(0, |round| round.spread.wallets);
    let count = figures.rounds.len();
    for (ratio, each, cancelled, stores) in [
        (
            figures.throughput_ratio,
            figures.rounds.iter().map(|round| round.throughput_ratio).collect::<Vec<_>>(),
            figures.most_cancelled_per_order,
            "one store",
        ),
        (
            figures.separate_stores_throughput_ratio,
            figures.rounds.iter().map(|round| round.separate_stores_throughput_ratio).collect(),
            figures.separate_stores_most_cancelled_per_order,
            "a store per client",
        ),
        (
            figures.environments_throughput_ratio,
            figures.rounds.iter().map(|round| round.environments_throughput_ratio).collect(),
            figures.environments_most_cancelled_per_order,
            "three stores",
        ),
    ] {
        let under = each.iter().filter(|ratio| ratio.is_some_and(|ratio| ratio < THROUGHPUT_RATIO_TARGET)).count();
        let each: Vec<String> =
            each.iter().map(|ratio| ratio.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))).collect();
        table.push_str(&format!(
            "one wallet, {stores}: orders/s against {spread} wallets', median of {count} rounds {} (each: {}; {under} under); most cancelled transactions per committed order {}\n",
            verdict(ratio, |ratio| ratio >= THROUGHPUT_RATIO_TARGET, &format!("≥ {THROUGHPUT_RATIO_TARGET}×"), "×"),
            each.join(", "),
            cancelled_verdict(cancelled),
        ));
    }
    table.push_str(&format!(
        "orders given up in all rounds: {}; money {}\n",
        figures.failed,
        money_in_every_run(figures.money_held)
    ));
    table
}

/// The round run with every call held `per_call`: its four runs, then what one wallet
/// commits per second there, against 16 wallets' (no target: on AWS one wallet commits
/// one movement per transaction round trip, whatever the instances do) and how often the
/// instances' races were lost (target ≤ 1 cancelled transaction per committed order).
pub fn latency_table(round: &HotWalletRound, per_call: Duration) -> String {
    let mut table = runs_table(std::slice::from_ref(round));
    let ms = per_call.as_millis();
    let spread = round.spread.wallets;
    for (run, ratio, stores) in [
        (&round.one_wallet, round.throughput_ratio, "one store"),
        (&round.one_wallet_separate_stores, round.separate_stores_throughput_ratio, "a store per client"),
        (&round.one_wallet_environments, round.environments_throughput_ratio, "three stores"),
    ] {
        table.push_str(&format!(
            "one wallet, {stores}, {ms} ms per call: {} orders/s, {} of {spread} wallets' (no target); cancelled transactions per committed order {}\n",
            run.orders_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}")),
            ratio.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}×")),
            cancelled_verdict(run.cancelled_per_order),
        ));
    }
    let runs = round.runs();
    table.push_str(&format!(
        "orders given up: {}; money {}\n",
        runs.iter().map(|run| run.failed).sum::<usize>(),
        money_in_every_run(runs.iter().all(|run| run.money_held))
    ));
    table
}

/// A row per run, rounds numbered from 1.
fn runs_table(rounds: &[HotWalletRound]) -> String {
    let mut table = format!(
        "{:<6} {:<8} {:>7} {:>6} {:>9} {:>6} {:>8} {:>9} {:>9} {:>11}  {}\n",
        "round",
        "wallets",
        "clients",
        "stores",
        "committed",
        "failed",
        "seconds",
        "orders/s",
        "cancelled",
        "cancel/order",
        "money"
    );
    for (number, round) in rounds.iter().enumerate() {
        for run in round.runs() {
            table.push_str(&format!(
                "{:<6} {:<8} {:>7} {:>6} {:>9} {:>6} {:>8.2} {:>9} {:>9} {:>11}  {}\n",
                number + 1,
                run.wallets,
                run.clients,
                run.stores,
                run.committed,
                run.failed,
                run.seconds,
                run.orders_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}")),
                run.cancelled,
                run.cancelled_per_order.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}")),
                if run.money_held { "held" } else { "BROKEN" }
            ));
        }
    }
    table
}

fn money_in_every_run(held: bool) -> &'static str {
    if held { "held in every run" } else { "BROKEN" }
}

fn cancelled_verdict(cancelled: Option<f64>) -> String {
    verdict(cancelled, |ratio| ratio <= CANCELLED_PER_ORDER_TARGET, &format!("≤ {CANCELLED_PER_ORDER_TARGET}"), "")
}

/// `figure` with its target and whether it is met.
fn verdict(figure: Option<f64>, met: impl Fn(f64) -> bool, target: &str, unit: &str) -> String {
    match figure {
        Some(figure) if met(figure) => format!("{figure:.2}{unit} (target {target}: met)"),
        Some(figure) => format!("{figure:.2}{unit} (target {target}: NOT MET)"),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wallets: usize, stores: usize, orders_per_second: f64, cancelled: usize, money_held: bool) -> HotWalletRun {
        HotWalletRun {
            wallets,
            clients: 16,
            stores,
            attempted: 320,
            committed: 320,
            failed: 0,
            seconds: round2(320.0 / orders_per_second),
            orders_per_second: Some(orders_per_second),
            cancelled,
            cancelled_per_order: Some(round2(cancelled as f64 / 320.0)),
            money_held,
        }
    }

    #[test]
    fn the_latency_table_judges_each_way_of_running_one_wallet_by_its_cancellations() {
        let round = HotWalletRound::new(
            run(1, 1, 40.0, 0, true),
            run(1, 16, 30.0, 480, true),
            run(1, 3, 120.0, 32, true),
            run(16, 1, 400.0, 0, true),
        );
        let table = latency_table(&round, Duration::from_millis(20));
        assert!(table.contains("one wallet, one store, 20 ms per call: 40.0 orders/s, 0.10× of 16 wallets' (no target); cancelled transactions per committed order 0.00 (target ≤ 1: met)"), "{table}");
        assert!(table.contains("one wallet, a store per client, 20 ms per call: 30.0 orders/s, 0.08× of 16 wallets' (no target); cancelled transactions per committed order 1.50 (target ≤ 1: NOT MET)"), "{table}");
        assert!(table.contains("one wallet, three stores, 20 ms per call: 120.0 orders/s, 0.30× of 16 wallets' (no target); cancelled transactions per committed order 0.10 (target ≤ 1: met)"), "{table}");
        assert!(table.ends_with("orders given up: 0; money held in every run\n"), "{table}");
    }

    #[test]
    fn the_latency_table_says_when_the_money_did_not_hold() {
        let round = HotWalletRound::new(
            run(1, 1, 40.0, 0, true),
            run(1, 16, 30.0, 0, true),
            run(1, 3, 120.0, 0, false),
            run(16, 1, 400.0, 0, true),
        );
        assert!(latency_table(&round, Duration::from_millis(20)).ends_with("money BROKEN\n"));
    }
}
