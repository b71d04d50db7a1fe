#!/bin/sh
# Make sure a MySQL/MariaDB server answers on 127.0.0.1:3306; start the machine's MariaDB if
# it does not (no systemd here), then wait until it accepts connections.
set -eu
HOST=${WK_DB_HOST:-127.0.0.1}
PORT=${WK_DB_PORT:-3306}
answers() {
  mariadb-admin --protocol=TCP -h "$HOST" -P "$PORT" -u root --connect-timeout=2 ping >/dev/null 2>&1 \
    || mysqladmin --protocol=TCP -h "$HOST" -P "$PORT" -u root --connect-timeout=2 ping >/dev/null 2>&1
}
if answers; then exit 0; fi
echo "database not answering on $HOST:$PORT; starting mariadbd" >&2
# --pidfile: tests run private mariadbd processes; without it start-stop-daemon would take
# any of them for the shared server and start nothing.
start-stop-daemon --start --oknodo --background --pidfile /run/mysqld/mysqld.pid \
  --exec /usr/sbin/mariadbd
i=0
while ! answers; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then echo "mariadbd did not come up within 60 s" >&2; exit 1; fi
  sleep 1
done
echo "database is up" >&2
