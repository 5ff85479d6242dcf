"""A local stand-in for the Slack Web API, for tests and for running opsbot with no Slack token.

    standin = SlackStandIn(bot_token="xoxb-local")
    await standin.start()
    client = AsyncWebClient(base_url=standin.api_url, token="xoxb-local")

Request signing and payload builders for the other direction (Slack calling the bot) are in
`slack_standin.signing`.
"""

from .holds import Hold
from .server import SlackStandIn
from .state import RecordedCall

__all__ = ["Hold", "RecordedCall", "SlackStandIn"]
