"""selfheal: everything behind the Chalice handlers."""
