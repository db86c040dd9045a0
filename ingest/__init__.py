"""Turns files into a searchable index. Never imports Qt."""
