"""The domain and its storage. Knows nothing of Telegram, APScheduler or HTTP."""
