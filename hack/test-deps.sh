#!/usr/bin/env bash
# Provides what `make test` needs beyond Go and bin/: PostgreSQL's server binaries for the database
# tests. As root on a Debian-like machine they are installed from Debian's packages (as .ci/run
# does); otherwise the database tests skip, and the summary at the end of `make test` lists them.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then exit 0; fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo ">> installing PostgreSQL from Debian's packages for the database tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
else
  echo ">> PostgreSQL is not installed and this is not root: the database tests will be SKIPPED (apt-get install postgresql)" >&2
fi
