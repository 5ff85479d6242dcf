"""What opsbot gave up on, for a person: webhooks it could not process and Slack work it could not deliver."""
