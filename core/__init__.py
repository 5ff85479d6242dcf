"""What every feature stands on: the domain's vocabulary and the process machinery (scheduler,
metrics, group commit, supervisor). It imports nothing else of opsbot, so anything may import it."""
