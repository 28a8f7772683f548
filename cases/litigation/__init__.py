"""行政应诉: court cases against county agencies, defences and hearings."""
