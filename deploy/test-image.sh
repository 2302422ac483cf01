#!/usr/bin/env bash
# Builds the image and smoke-tests it the way production runs it: read-only root filesystem, no
# capabilities, the data directory the only writable path, production mode with secrets from files.
# Needs a container engine (docker or podman) and access to the base images' registry; where Grype
# is installed it also scans the image (fails on high or critical findings with a fix available).
#   deploy/test-image.sh [image-tag]
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-tmi:test}
ENGINE=${CONTAINER_ENGINE:-$(command -v docker || command -v podman || true)}
if [ -z "$ENGINE" ]; then echo "no container engine (docker or podman) found" >&2; exit 1; fi
NAME=tmi-image-test-$$
WORK=$(mktemp -d)
cleanup() { "$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== build $TAG"
"$ENGINE" build -f deploy/Dockerfile -t "$TAG" .

echo "== the runtime stage has no shell and runs as non-root"
if "$ENGINE" run --rm --entrypoint /bin/sh "$TAG" -c true >/dev/null 2>&1; then echo "the image has a shell" >&2; exit 1; fi
user=$("$ENGINE" image inspect -f '{{.Config.User}}' "$TAG")
[ "$user" = "65532:65532" ] || { echo "image user is '$user', expected 65532:65532" >&2; exit 1; }

echo "== run read-only, production mode, secrets from files (with what production requires: an identity provider, Secure cookies)"
head -c 48 /dev/urandom | base64 | tr -d '\n' > "$WORK/jwt_secret"
chmod 644 "$WORK/jwt_secret"
"$ENGINE" run -d --name "$NAME" --read-only --cap-drop ALL --security-opt no-new-privileges \
  --tmpfs /data:uid=65532,gid=65532,mode=0700 \
  -v "$WORK/jwt_secret:/run/secrets/jwt_secret:ro" \
  -e TMI_JWT_SECRET_FILE=/run/secrets/jwt_secret \
  -e TMI_SERVER_BASE_URL=http://localhost:18080 \
  -e TMI_COOKIE_SECURE=true \
  -e OAUTH_PROVIDERS_CORP_ENABLED=true \
  -e OAUTH_PROVIDERS_CORP_CLIENT_ID=corp-client \
  -e OAUTH_PROVIDERS_CORP_CLIENT_SECRET=corp-client-secret-for-the-image-test \
  -e OAUTH_PROVIDERS_CORP_AUTHORIZATION_URL=https://idp.example.test/authorize \
  -e OAUTH_PROVIDERS_CORP_TOKEN_URL=https://idp.example.test/token \
  -e OAUTH_PROVIDERS_CORP_USERINFO_URL=https://idp.example.test/userinfo \
  -p 127.0.0.1:18080:8080 "$TAG" >/dev/null
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 1; done
curl -sf http://127.0.0.1:18080/ | grep -q '"code":"ok"' || { "$ENGINE" logs "$NAME"; echo "API health failed" >&2; exit 1; }
curl -sf -H 'accept: text/html' http://127.0.0.1:18080/ | grep -qi '<!doctype html>' || { echo "web app not served" >&2; exit 1; }
for _ in $(seq 1 90); do
  status=$("$ENGINE" inspect -f '{{.State.Health.Status}}' "$NAME")
  [ "$status" = healthy ] && break
  sleep 2
done
[ "$status" = healthy ] || { echo "container health is '$status'" >&2; exit 1; }

echo "== SBOM shipped in the image"
"$ENGINE" cp "$NAME:/app/dist/sbom.cdx.json" "$WORK/sbom.cdx.json"
grep -q '"bomFormat": "CycloneDX"' "$WORK/sbom.cdx.json"

if command -v grype >/dev/null; then
  echo "== grype"
  grype "$TAG" --only-fixed --fail-on high
else
  echo "== grype not installed: image not scanned (install it to scan, as CI of the reference does)"
fi
echo "image $TAG passed"
