"""The issue log: state changes on issues (acknowledge, resolve, reopen, ...) and their audit trail."""
