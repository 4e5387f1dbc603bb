//! Orders: placing (one transaction with the debit, ledger entry and idempotency record), reading, cancelling.
