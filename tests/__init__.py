"""style_gan test suite (a package, so no installed top-level `tests` package shadows it)."""
