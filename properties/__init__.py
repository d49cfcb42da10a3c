"""The invariant library: properties declared once, checked by every driver."""
