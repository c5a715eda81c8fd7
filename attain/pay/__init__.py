"""Pay: plans, the incentive ledger (commission, bonuses, balances), payouts, period close, finance export."""
