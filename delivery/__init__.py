"""Delivery: the outbox features write Slack work into (outbox.py), and the worker that sends it,
exactly once per issue across replicas, paced and rate-limited as Slack requires (worker.py,
claims.py, outcomes.py, posts.py, rate_limits.py). It knows no feature: the composition root
hands it the issue renderer and the performers of other operations (PagerDuty, auto-fix starts)."""
