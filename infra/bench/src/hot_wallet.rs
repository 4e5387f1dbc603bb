//! A hot wallet: 16 concurrent clients placing orders on ONE wallet, against the same
//! number of orders from 16 clients on 16 wallets, through `steller::Store` on the
//! embedded engine. The engine proxy counts the transactions DynamoDB cancelled (lost
//! races the store retried), and the money is checked afterwards.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use steller::Store;
use steller::domain::{Mode, Money, PartnerId, PlaceOrder, Product, Quantity};

use crate::embedded::{Engine, sign_up};
use crate::stats::{per_second, round2, times};

/// Targets of issue 12: one wallet's throughput at least this share of 16 wallets', and
/// at most this many cancelled transactions per committed order.
pub const THROUGHPUT_RATIO_TARGET: f64 = 0.5;
pub const CANCELLED_PER_ORDER_TARGET: f64 = 1.0;

/// Each signup's sandbox credit: far more than its orders spend, so no order is refused.
const CREDIT_DOLLARS: u32 = 10_000;

/// One layout's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotWalletRun {
    pub wallets: usize,
    pub clients: usize,
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

/// Both layouts and how they compare.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotWalletFigures {
    pub one_wallet: HotWalletRun,
    pub spread: HotWalletRun,
    /// One wallet's orders per second against the spread layout's.
    pub throughput_ratio: Option<f64>,
}

impl HotWalletFigures {
    pub fn new(one_wallet: HotWalletRun, spread: HotWalletRun) -> Self {
        let throughput_ratio =
            one_wallet.orders_per_second.zip(spread.orders_per_second).and_then(|(one, spread)| times(one, spread));
        HotWalletFigures { one_wallet, spread, throughput_ratio }
    }
}

/// What one client got: the totals of its committed orders, and its failures.
#[derive(Debug, Default)]
struct ClientOutcome {
    committed: Vec<Money>,
    failed: usize,
}

/// `clients` clients each placing `orders_per_client` orders, first all on one wallet,
/// then each on its own.
pub async fn measure(clients: usize, orders_per_client: usize) -> anyhow::Result<HotWalletFigures> {
    let engine = Engine::start(Duration::ZERO).await?;
    let store = engine.store.clone();
    steller::seed::seed_products(&store).await.context("seeding the catalog")?;
    let product = cheapest_product()?;
    let mut partners = Vec::new();
    for index in 0..=clients {
        partners.push(sign_up(&store, &format!("hot-wallet-{index}"), CREDIT_DOLLARS).await?.partner.id);
    }
    let (hot, spread) = partners.split_at(1);
    let hot_wallets = vec![hot[0]; clients];
    let one_wallet = run(&engine, &product, &hot_wallets, orders_per_client).await?;
    let spread = run(&engine, &product, spread, orders_per_client).await?;
    Ok(HotWalletFigures::new(one_wallet, spread))
}

/// One client per entry of `wallets` (the same partner may come several times).
async fn run(
    engine: &Engine,
    product: &Product,
    wallets: &[PartnerId],
    orders_per_client: usize,
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
    // Each client its own task, so the clients run on every core, as separate callers would.
    let tasks: Vec<_> =
        commands.into_iter().map(|command| tokio::spawn(client(store.clone(), command, orders_per_client))).collect();
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

/// The hot-wallet table as printed: both layouts, then the ratio and both verdicts.
pub fn hot_wallet_table(figures: &HotWalletFigures) -> String {
    let mut table = format!(
        "{:<10} {:>7} {:>9} {:>6} {:>8} {:>9} {:>9} {:>11}  {}\n",
        "wallets", "clients", "committed", "failed", "seconds", "orders/s", "cancelled", "cancel/order", "money"
    );
    for run in [&figures.one_wallet, &figures.spread] {
        table.push_str(&format!(
            "{:<10} {:>7} {:>9} {:>6} {:>8.2} {:>9} {:>9} {:>11}  {}\n",
            run.wallets,
            run.clients,
            run.committed,
            run.failed,
            run.seconds,
            run.orders_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}")),
            run.cancelled,
            run.cancelled_per_order.map_or_else(|| "-".to_owned(), |ratio| format!("{ratio:.2}")),
            if run.money_held { "held" } else { "BROKEN" }
        ));
    }
    let throughput = match figures.throughput_ratio {
        Some(ratio) if ratio >= THROUGHPUT_RATIO_TARGET => {
            format!("{ratio:.2}× (target ≥ {THROUGHPUT_RATIO_TARGET}×: met)")
        }
        Some(ratio) => format!("{ratio:.2}× (target ≥ {THROUGHPUT_RATIO_TARGET}×: NOT MET)"),
        None => "-".to_owned(),
    };
    let cancelled = match figures.one_wallet.cancelled_per_order {
        Some(ratio) if ratio <= CANCELLED_PER_ORDER_TARGET => {
            format!("{ratio:.2} (target ≤ {CANCELLED_PER_ORDER_TARGET}: met)")
        }
        Some(ratio) => format!("{ratio:.2} (target ≤ {CANCELLED_PER_ORDER_TARGET}: NOT MET)"),
        None => "-".to_owned(),
    };
    table.push_str(&format!("one wallet's orders/s against {} wallets': {throughput}\n", figures.spread.wallets));
    table.push_str(&format!("cancelled transactions per committed order on one wallet: {cancelled}\n"));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wallets: usize, committed: usize, rate: f64, cancelled: usize) -> HotWalletRun {
        HotWalletRun {
            wallets,
            clients: 16,
            attempted: 320,
            committed,
            failed: 320 - committed,
            seconds: committed as f64 / rate,
            orders_per_second: Some(rate),
            cancelled,
            cancelled_per_order: Some(round2(cancelled as f64 / committed as f64)),
            money_held: true,
        }
    }

    #[test]
    fn one_wallet_is_read_against_the_spread_layout() {
        let figures = HotWalletFigures::new(run(1, 320, 60.0, 160), run(16, 320, 100.0, 0));
        assert_eq!(figures.throughput_ratio, Some(0.6));
        let table = hot_wallet_table(&figures);
        assert!(table.contains("0.60× (target ≥ 0.5×: met)"), "{table}");
        assert!(table.contains("0.50 (target ≤ 1: met)"), "{table}");
    }

    #[test]
    fn a_slow_and_racy_hot_wallet_misses_both_targets_and_broken_money_shows() {
        let mut hot = run(1, 300, 20.0, 900);
        hot.money_held = false;
        let table = hot_wallet_table(&HotWalletFigures::new(hot, run(16, 320, 100.0, 0)));
        assert!(table.contains("0.20× (target ≥ 0.5×: NOT MET)"), "{table}");
        assert!(table.contains("3.00 (target ≤ 1: NOT MET)"), "{table}");
        assert!(table.lines().nth(1).is_some_and(|line| line.ends_with("BROKEN")), "{table}");
    }
}
