"""The conversation, without a screen: reading messages (mentions, polarity, filters), the state a chat
accumulates, and the session that plans, ranks and rates. `chat` (tui/) and `engine ask` both run it."""
