"""hamgeo benchmark suites and their runner (not part of the installed package)."""
