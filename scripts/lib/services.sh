# shellcheck shell=bash
# Local services for development and tests: PostgreSQL 15, PgBouncer (transaction pooling) and Redis,
# each on a given port with its own directory, plus the migration runner.
#
# Source this file (scripts/dev and scripts/test do) or use the `scripts/services` CLI. Every
# function is idempotent and quiet on success; on failure it prints what went wrong (with the tail
# of the service's log) on stderr and returns non-zero.
#
# PostgreSQL and PgBouncer refuse to run as root: when we are root they run as the `postgres` system
# user (runuser) in directories it owns; as any other user they run as that user.

NEONPRO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
# Superuser of the local clusters. Local-only credentials: never used outside this machine.
NEONPRO_PG_SUPERUSER_PASSWORD="${NEONPRO_PG_SUPERUSER_PASSWORD:-postgres}"
# Password given to the `authenticator` login role by `migrate` (local-only convenience).
NEONPRO_AUTHENTICATOR_PASSWORD="${NEONPRO_AUTHENTICATOR_PASSWORD:-authenticator}"

svc_err() { printf 'services: %s\n' "$*" >&2; }

svc_is_root() { [ "$(id -u)" = 0 ]; }

# The system user PostgreSQL and PgBouncer run as.
svc_pg_user() {
  if svc_is_root; then echo postgres; else id -un; fi
}

# Runs a command as the PostgreSQL user, from `/` so an unreadable cwd does not matter.
svc_as_pg() {
  if svc_is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Makes DIR (and its parents) exist and be owned by the PostgreSQL user, mode 0700.
svc_pg_owned_dir() {
  local dir=$1
  mkdir -p "$dir" || return 1
  if svc_is_root; then chown postgres:postgres "$dir" || return 1; fi
  chmod 0700 "$dir"
}

# Makes DIR's parent reachable by the PostgreSQL user. Private temporary directories (mktemp -d,
# Rust's tempfile: mode 0700) under /tmp, /var/tmp or $TMPDIR get o+x (enter, not list); any
# other unreachable directory (e.g. /root) is an error with a clear message.
svc_pg_can_reach() {
  svc_is_root || return 0
  local parent d tmp
  parent=$(dirname "$1")
  runuser -u postgres -- test -x "$parent" 2>/dev/null && return 0
  d=$parent
  # Walk up from the parent; a directory may look unreachable only because of an ancestor, so
  # only the ones under a temporary root are touched, and only with o+x.
  while [ "$d" != / ]; do
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      local fixed=0
      for tmp in /tmp /var/tmp "${TMPDIR:-/tmp}"; do
        tmp=$(svc_abs "$tmp")
        case "$d" in "$tmp"/*) chmod o+x "$d" && fixed=1 && break ;; esac
      done
      if [ "$fixed" = 0 ]; then
        svc_err "the postgres user cannot enter $d (it or a parent is not world-executable); put the data directory under /tmp or /var/tmp"
        return 1
      fi
    fi
    d=$(dirname "$d")
  done
  runuser -u postgres -- test -x "$parent" 2>/dev/null
}

svc_abs() { realpath -m -- "$1"; }

svc_require_port() {
  case "${1:-}" in
    '' | *[!0-9]*) svc_err "invalid port: '${1:-}'"; return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Installation of missing tools (Debian packages when root; otherwise say what to install).
# ---------------------------------------------------------------------------------------------

svc_apt_updated=0
svc_apt_install() {
  if ! svc_is_root; then
    svc_err "missing: $*. Install them with: sudo apt-get install -y $*"
    return 1
  fi
  if [ "$svc_apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || { svc_err "apt-get update failed"; return 1; }
    svc_apt_updated=1
  fi
  # policy-rc.d-less containers may try to start the packaged services: we never use them.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { svc_err "apt-get install $* failed"; return 1; }
}

# Ensures PostgreSQL 15 (server and client), PgBouncer, Redis and python3 are installed.
svc_ensure_tools() {
  local missing=()
  [ -x "$PG_BINDIR/initdb" ] || missing+=(postgresql-15)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client-15)
  command -v pgbouncer >/dev/null 2>&1 || missing+=(pgbouncer)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    svc_apt_install "${missing[@]}" || return 1
  fi
  if ! id postgres >/dev/null 2>&1 && svc_is_root; then
    svc_err "no 'postgres' system user although PostgreSQL is installed"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------

# Prints a TCP port that is free on 127.0.0.1 right now.
#
# The port is taken BELOW the kernel's ephemeral range (not "bind port 0", which returns one
# inside it): a client reconnecting in a loop to a stopped service on an ephemeral port can end
# up connected to itself (TCP simultaneous open), which turns a clean "connection refused" into
# garbage, poisons PgBouncer's pool state and can block the service's restart on that port.
svc_free_port() {
  python3 - <<'PY'
import random, socket
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
candidates = list(range(20000, lo)) if lo > 21000 else []
random.shuffle(candidates)
for port in candidates[:200]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:  # no room below the ephemeral range: let the kernel choose
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
PY
}

# Whether something accepts TCP connections on 127.0.0.1:PORT.
svc_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

# Unix sockets live next to the data directory (in DIR's parent), never in /run or /tmp.
svc_pg_socket_dir() { echo "$(dirname "$1")/pg-sockets"; }

svc_pg_running() {
  local dir=$1
  [ -f "$dir/postmaster.pid" ] || return 1
  svc_as_pg "$PG_BINDIR/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

# The port a running cluster listens on (line 4 of postmaster.pid).
svc_pg_running_port() { sed -n 4p "$1/postmaster.pid" 2>/dev/null; }

svc_pg_log_tail() {
  local log=$1
  if [ -f "$log" ]; then
    svc_err "last lines of $log:"
    tail -n 20 "$log" >&2
  fi
}

# svc_start_pg DIR PORT — creates (if needed) and starts a PostgreSQL 15 cluster on 127.0.0.1:PORT.
svc_start_pg() {
  local dir port sockdir
  [ $# -eq 2 ] || { svc_err "usage: start-pg DIR PORT"; return 2; }
  dir=$(svc_abs "$1"); port=$2
  svc_require_port "$port" || return 2
  svc_ensure_tools || return 1
  sockdir=$(svc_pg_socket_dir "$dir")

  if svc_pg_running "$dir"; then
    [ "$(svc_pg_running_port "$dir")" = "$port" ] && svc_wait_pg "$port" && return 0
    svc_stop_pg "$dir" || return 1   # running on another port: restart on the requested one
  fi

  mkdir -p "$(dirname "$dir")" || return 1
  svc_pg_can_reach "$dir" || return 1
  svc_pg_owned_dir "$sockdir" || return 1
  if [ ${#sockdir} -gt 90 ]; then
    svc_err "socket directory path too long for a Unix socket: $sockdir"
    return 1
  fi

  if [ ! -s "$dir/PG_VERSION" ]; then
    svc_pg_owned_dir "$dir" || return 1
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$NEONPRO_PG_SUPERUSER_PASSWORD" >"$pwfile"
    chmod 0644 "$pwfile"
    # TCP logins need a password (scram-sha-256); the local socket trusts only the same OS user.
    if ! svc_as_pg "$PG_BINDIR/initdb" -D "$dir" -U postgres --pwfile="$pwfile" \
      --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
      >"$(dirname "$dir")/initdb-$(basename "$dir").log" 2>&1; then
      rm -f "$pwfile"
      svc_err "initdb failed for $dir"
      svc_pg_log_tail "$(dirname "$dir")/initdb-$(basename "$dir").log"
      return 1
    fi
    rm -f "$pwfile" "$(dirname "$dir")/initdb-$(basename "$dir").log"
    echo "include_if_exists = 'neonpro.conf'" | svc_as_pg tee -a "$dir/postgresql.conf" >/dev/null
  fi

  # Regenerated on every start so the port (and the settings) always match the request.
  svc_as_pg tee "$dir/neonpro.conf" >/dev/null <<EOF
# Written by scripts/lib/services.sh on every start. Local development and tests only:
# durability is traded for speed (never use these settings for data you care about).
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockdir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
logging_collector = off
log_min_messages = warning
log_timezone = 'UTC'
timezone = 'UTC'
EOF

  if ! svc_as_pg "$PG_BINDIR/pg_ctl" -D "$dir" -l "$dir/postgres.log" -w -t 60 start >/dev/null 2>&1; then
    svc_err "PostgreSQL did not start in $dir on port $port"
    svc_pg_log_tail "$dir/postgres.log"
    return 1
  fi
  svc_wait_pg "$port" || { svc_pg_log_tail "$dir/postgres.log"; return 1; }
}

# Waits until PostgreSQL (or PgBouncer) on 127.0.0.1:PORT accepts connections.
svc_wait_pg() {
  local port=$1
  for _ in $(seq 1 150); do
    pg_isready -q -h 127.0.0.1 -p "$port" -d postgres -U postgres -t 2 && return 0
    sleep 0.2
  done
  svc_err "nothing ready on 127.0.0.1:$port after 30 s"
  return 1
}

# svc_stop_pg DIR — stops the cluster (fast shutdown); nothing to do if it is not running.
svc_stop_pg() {
  local dir
  [ $# -eq 1 ] || { svc_err "usage: stop-pg DIR"; return 2; }
  dir=$(svc_abs "$1")
  [ -f "$dir/postmaster.pid" ] || return 0
  svc_pg_running "$dir" || return 0
  if ! svc_as_pg "$PG_BINDIR/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1; then
    svc_pg_running "$dir" || return 0
    svc_err "PostgreSQL in $dir did not stop"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# PgBouncer (transaction pooling)
# ---------------------------------------------------------------------------------------------

svc_pid_alive() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null | tr -dc 0-9)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Stops the process whose pid is in PIDFILE with SIGNAL, waiting up to 10 s, then SIGKILL.
svc_stop_pidfile() {
  local pidfile=$1 sig=$2 pid
  svc_pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(head -n 1 "$pidfile" | tr -dc 0-9)
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
  rm -f "$pidfile"
}

# svc_start_pgbouncer DIR PORT PG_PORT — PgBouncer on 127.0.0.1:PORT in front of 127.0.0.1:PG_PORT.
svc_start_pgbouncer() {
  local dir port pg_port
  [ $# -eq 3 ] || { svc_err "usage: start-pgbouncer DIR PORT PG_PORT"; return 2; }
  dir=$(svc_abs "$1"); port=$2; pg_port=$3
  svc_require_port "$port" || return 2
  svc_require_port "$pg_port" || return 2
  svc_ensure_tools || return 1

  if svc_pid_alive "$dir/pgbouncer.pid"; then
    if grep -qx "listen_port = $port" "$dir/pgbouncer.ini" 2>/dev/null \
      && grep -q "port=$pg_port\$" "$dir/pgbouncer.ini" 2>/dev/null; then
      svc_wait_pg "$port" && return 0
    fi
    svc_stop_pgbouncer "$dir" || return 1
  fi

  mkdir -p "$(dirname "$dir")" || return 1
  svc_pg_can_reach "$dir" || return 1
  svc_pg_owned_dir "$dir" || return 1
  # Plain-text passwords let PgBouncer do SCRAM with both the client and the server.
  # Local-only credentials (see NEONPRO_*_PASSWORD above).
  svc_as_pg tee "$dir/userlist.txt" >/dev/null <<EOF
"postgres" "$NEONPRO_PG_SUPERUSER_PASSWORD"
"authenticator" "$NEONPRO_AUTHENTICATOR_PASSWORD"
EOF
  svc_as_pg chmod 0600 "$dir/userlist.txt"
  svc_as_pg tee "$dir/pgbouncer.ini" >/dev/null <<EOF
; Written by scripts/lib/services.sh. Transaction pooling, like Supabase's Supavisor on port 6543.
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_tls_sslmode = disable
server_login_retry = 0
server_connect_timeout = 3
query_wait_timeout = 10
ignore_startup_parameters = extra_float_digits,options
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
log_connections = 0
log_disconnections = 0
EOF
  if ! svc_as_pg pgbouncer -d -q "$dir/pgbouncer.ini" >/dev/null 2>&1; then
    svc_err "PgBouncer did not start in $dir on port $port"
    svc_pg_log_tail "$dir/pgbouncer.log"
    return 1
  fi
  svc_wait_pg "$port" || { svc_pg_log_tail "$dir/pgbouncer.log"; return 1; }
}

# svc_stop_pgbouncer DIR
svc_stop_pgbouncer() {
  [ $# -eq 1 ] || { svc_err "usage: stop-pgbouncer DIR"; return 2; }
  # SIGTERM: immediate shutdown (SIGINT would wait for clients to disconnect).
  svc_stop_pidfile "$(svc_abs "$1")/pgbouncer.pid" TERM
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------

svc_wait_redis() {
  local port=$1
  for _ in $(seq 1 150); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.2
  done
  svc_err "Redis not answering on 127.0.0.1:$port after 30 s"
  return 1
}

# svc_start_redis DIR PORT — an ephemeral Redis (no RDB, no AOF) on 127.0.0.1:PORT.
svc_start_redis() {
  local dir port
  [ $# -eq 2 ] || { svc_err "usage: start-redis DIR PORT"; return 2; }
  dir=$(svc_abs "$1"); port=$2
  svc_require_port "$port" || return 2
  svc_ensure_tools || return 1

  if svc_pid_alive "$dir/redis.pid"; then
    if [ "$(cat "$dir/redis.port" 2>/dev/null)" = "$port" ]; then
      svc_wait_redis "$port" && return 0
    fi
    svc_stop_redis "$dir" || return 1
  fi
  mkdir -p "$dir" || return 1
  rm -f "$dir/redis.pid"
  echo "$port" >"$dir/redis.port"
  if ! redis-server --save '' --appendonly no --port "$port" --bind 127.0.0.1 \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
    >/dev/null 2>&1; then
    svc_err "Redis did not start in $dir on port $port"
    svc_pg_log_tail "$dir/redis.log"
    return 1
  fi
  svc_wait_redis "$port" || { svc_pg_log_tail "$dir/redis.log"; return 1; }
}

# svc_stop_redis DIR
svc_stop_redis() {
  [ $# -eq 1 ] || { svc_err "usage: stop-redis DIR"; return 2; }
  svc_stop_pidfile "$(svc_abs "$1")/redis.pid" TERM
}

# ---------------------------------------------------------------------------------------------
# Migrations (Supabase CLI layout)
# ---------------------------------------------------------------------------------------------

svc_psql() {
  psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# svc_migrate ADMIN_URL [--seed] — applies supabase/bootstrap.sql, then every migration not yet
# recorded in supabase_migrations.schema_migrations (filename order, one transaction each, recorded
# exactly like the Supabase CLI records it), then supabase/seed.sql with --seed.
svc_migrate() {
  local url="" seed=0 arg
  for arg in "$@"; do
    case "$arg" in
      --seed) seed=1 ;;
      -*) svc_err "unknown option $arg"; return 2 ;;
      *) [ -z "$url" ] || { svc_err "usage: migrate ADMIN_URL [--seed]"; return 2; }; url=$arg ;;
    esac
  done
  [ -n "$url" ] || { svc_err "usage: migrate ADMIN_URL [--seed]"; return 2; }
  svc_ensure_tools || return 1
  local sb="$NEONPRO_ROOT/supabase" out
  # Notices (e.g. "already exists, skipping") are noise on success; errors still print.
  local -x PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

  out=$(svc_psql --single-transaction -d "$url" -f "$sb/bootstrap.sql" 2>&1) \
    || { svc_err "bootstrap failed:"; echo "$out" >&2; return 1; }

  # Same table and columns as the Supabase CLI (pkg/migration/history.go).
  out=$(svc_psql -d "$url" 2>&1 <<'SQL'
set lock_timeout = '4s';
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
SQL
  ) || { svc_err "could not create supabase_migrations.schema_migrations:"; echo "$out" >&2; return 1; }

  local applied file base version record
  applied=$(svc_psql -At -d "$url" -c 'select version from supabase_migrations.schema_migrations') || return 1
  for file in "$sb"/migrations/*.sql; do
    [ -e "$file" ] || continue
    base=$(basename "$file")
    if ! [[ "$base" =~ ^([0-9]{14})_(.+)\.sql$ ]]; then
      svc_err "migration file name must be <14-digit timestamp>_<name>.sql: $base"
      return 1
    fi
    version=${BASH_REMATCH[1]}
    grep -qx "$version" <<<"$applied" && continue
    record=$(mktemp)
    python3 "$NEONPRO_ROOT/scripts/lib/migration_record.py" "$file" >"$record" || { rm -f "$record"; return 1; }
    # One transaction: the migration and its history row commit together or not at all.
    if ! out=$(svc_psql --single-transaction -d "$url" -f "$file" -f "$record" 2>&1); then
      rm -f "$record"
      svc_err "migration $base failed (nothing of it was applied):"
      echo "$out" >&2
      return 1
    fi
    rm -f "$record"
  done

  # Local-only convenience: the API's login role gets a known password so DATABASE_URL can be
  # postgres://authenticator:authenticator@… on this machine. On Supabase the platform manages it.
  out=$(svc_psql -d "$url" -v pw="$NEONPRO_AUTHENTICATOR_PASSWORD" 2>&1 <<'SQL'
alter role authenticator with login password :'pw';
SQL
  ) || { svc_err "could not set the authenticator password:"; echo "$out" >&2; return 1; }

  if [ "$seed" = 1 ] && [ -f "$sb/seed.sql" ]; then
    out=$(svc_psql --single-transaction -d "$url" -f "$sb/seed.sql" 2>&1) \
      || { svc_err "seed failed:"; echo "$out" >&2; return 1; }
  fi
  return 0
}
