#!/bin/sh
# tools/demo.sh: what `make demo` runs (after `make all`): four nodes on this
# machine, one transaction to each with amounts 0, 50, 100 and 150, and what
# happened to each.  `make demo KEEP=1` leaves the nodes running.  The work
# is done by tools/demo.py (Python 3 standard library) and tools/cluster.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tools/demo.py "$@"
