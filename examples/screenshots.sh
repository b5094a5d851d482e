#!/usr/bin/env bash
# The README's pictures of the split and of --memory: the bundled example
# (examples/webapp.py) recorded for 4 seconds with --memory, rendered as the
# HTML report, photographed in headless Chromium in two views (samples and
# memory grown, both coloured by class) into docs/images/example-split.png
# and docs/images/example-memory.png. Needs chromium and python3.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
command -v python3 >/dev/null || { echo "screenshots: no python3 on PATH" >&2; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROMIUM" ]; then
	echo "screenshots: no chromium on PATH" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp examples/webapp.py "$tmp/webapp.py"
(cd "$tmp" && "$OLDPWD/$BUILD/cspy" record --memory -r 200 -d 4 -f json -o profile.json -- python3 webapp.py)
"$BUILD/cspy" report "$tmp/profile.json" -o "$tmp/report.html"
shoot() { # view, output
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
		--screenshot="$2" "file://$tmp/report.html?c=1&m=$1" 2>/dev/null
	echo "wrote $2"
}
shoot time docs/images/example-split.png
shoot grow docs/images/example-memory.png
