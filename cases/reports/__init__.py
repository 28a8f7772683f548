"""Statistics for leadership: what was received, handled, on time, agreed, attended, appeared.

No Telegram here. ``periods`` names the reporting periods, ``figures`` computes the figures
from the case tables (one definition per figure, documented on the field), ``charts`` draws
them (matplotlib, CJK font from a PyPI package), ``export`` writes them as XLSX and CSV, and
``summary`` writes the key figures as text in the reader's language.
"""
