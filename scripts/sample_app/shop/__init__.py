"""A tiny order service with real bugs: selfheal's bundled demo application."""
