#!/bin/sh
# Debian packages the test suite needs beyond Python: the MariaDB client headers (to build
# mysqlclient for the connection= tests), Chromium with its WebDriver for the dashboard's
# browser tests, and the Galera provider and rsync for the private 3-node cluster of
# `make test-cluster`. Installed only when missing.
set -eu
missing=""
for package in libmariadb-dev pkg-config chromium chromium-driver galera-4 rsync; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $missing >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q $missing >/dev/null
    }
fi
