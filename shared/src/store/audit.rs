//! The ledger audit: for every wallet, the ledger sums to the balance.
