"""Bad-input and hostile-input tests: files, bundles, servers that try to break portkit (no cluster needed)."""
