"""Protocols written the way a user of modelcheck would write their own."""
