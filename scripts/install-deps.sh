#!/usr/bin/env bash
# Installs every Debian package MeterHub needs to build, test and run its demo.
# Idempotent: a machine that has them all skips apt entirely.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev libsqlite3-dev sqlite3 zlib1g-dev libarchive-dev
  postgresql-15 libpq-dev
  libmosquitto-dev mosquitto mosquitto-clients
  nlohmann-json3-dev libabsl-dev libcpp-httplib-dev libtomlplusplus-dev libcli11-dev libre2-dev
  libmicrohttpd-dev libfmt-dev libspdlog-dev libcurl4-openssl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libeigen3-dev libopencv-dev
  clang libclang-rt-14-dev
  python3 curl unzip time bc tshark gnuplot-nox
  libargon2-dev chromium
  libhowardhinnant-date-dev tzdata
  libvalijson-dev
)
# The dashboard (web/) builds with Node.js and npm: the machine's own when it has them (a newer
# Node from elsewhere ships npm inside its nodejs package), else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
