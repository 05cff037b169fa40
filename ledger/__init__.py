"""The accounts-receivable ledger of customs accounts (issue 3): not built yet."""
