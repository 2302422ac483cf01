#!/usr/bin/env bash
# Creates the secret files deploy/compose.yaml mounts (once; existing files are kept).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
umask 077
rand() { head -c "$1" /dev/urandom | base64 | tr -d '\n/+=' ; }
make() { [ -s "secrets/$1" ] || printf '%s' "$2" > "secrets/$1"; }
make tmi_jwt_secret "$(rand 48)"
make tmi_metrics_token "$(rand 32)"
make postgres_password "$(rand 24)"
make redis_password "$(rand 24)"
make tmi_database_url "postgres://tmi:$(cat secrets/postgres_password)@postgres:5432/tmi"
make tmi_redis_url "redis://:$(cat secrets/redis_password)@redis:6379"
make redis_acl "user default on >$(cat secrets/redis_password) ~* &* +@all"
# The containers run as other users than yours; they need to read these files.
chmod 644 secrets/*
echo "secrets in $(pwd)/secrets"
