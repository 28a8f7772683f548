"""Web chat gateway: the county's own Bot API server plus one chat page for citizens' browsers.

The unmodified bot talks to it as to Telegram (``TELEGRAM_API_BASE``); citizens without
Telegram chat with the same bot in a browser. Nothing in handlers/, scheduling/ or cases/ knows
which channel a person uses. See README, "Web chat".
"""
