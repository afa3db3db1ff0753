"""Quality writes: the cached report (`report_cache`), review decisions (`review`) and the
qualification of labelers (`qualification`). The report's numbers are `quality.report`."""
