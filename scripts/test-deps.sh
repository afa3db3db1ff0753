#!/bin/sh
# What `make test` needs beyond the virtualenv: Debian's Chromium (Playwright drives it; its
# own browser download is blocked) and a font for it. As root on Debian they are installed;
# elsewhere this says exactly what to install and fails: the browser tests are never skipped.
# Used by `make test` (and so by .ci/run).
set -eu

CHROMIUM="${SKEIN_CHROMIUM:-/usr/bin/chromium}"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
PACKAGES="chromium fonts-dejavu-core"

# Debian's Chromium comes without a font; elsewhere a Chromium is taken as it is.
if [ -x "$CHROMIUM" ] && { [ -n "${SKEIN_CHROMIUM:-}" ] || [ ! -f /etc/debian_version ] \
    || [ -f "$FONT" ]; }; then
  exit 0
fi

if [ -n "${SKEIN_CHROMIUM:-}" ]; then
  echo "make test: SKEIN_CHROMIUM=$SKEIN_CHROMIUM is not an executable Chromium." >&2
  echo "  Point SKEIN_CHROMIUM at one, or unset it to use Debian's /usr/bin/chromium." >&2
  exit 1
fi
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then
  echo "make test: installing $PACKAGES (the browser tests drive Debian's Chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q $PACKAGES
  [ -x "$CHROMIUM" ] && exit 0
  echo "make test: apt-get installed $PACKAGES but there is no $CHROMIUM." >&2
  exit 1
fi
echo "make test: the browser tests need Chromium at $CHROMIUM and the DejaVu fonts." >&2
if [ -f /etc/debian_version ]; then
  echo "  Install them:  sudo apt-get install $PACKAGES" >&2
else
  echo "  Install Chromium and the DejaVu fonts with your system's package manager, then run" >&2
  echo "  make test SKEIN_CHROMIUM=/path/to/chromium   (Playwright drives it as it is)" >&2
fi
exit 1
