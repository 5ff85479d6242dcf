"""Slack's side of every feature: its payload shapes and the plumbing every listener shares.

    payloads.py     Click, SlashCommand, Submission (with FormValues): parse_click / parse_command / parse_submission
    metadata.py     a modal's private_metadata: encode_metadata (3,000-char check) and ModalMetadata (typed reads)
    submissions.py  ack_submission (errors beside a modal's inputs) and tell_submitter (after it closed)
    blockkit.py     Block Kit pieces: escaping, truncation within Slack's limits, sections, buttons
    listeners.py    error reporting: reporting_errors, describe_error, Bolt's global error handler
    receipts.py     each delivery acted on once (Events API retries, replayed requests), across replicas
    user_groups.py  user-group membership for role checks, cached

The rule: this package sits below the features and imports none of them (handlers/errors.py is the
only handlers module it reads). The errors stay in handlers/errors.py, not here: services raise them
and services know nothing of Slack.
"""
