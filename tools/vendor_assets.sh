#!/usr/bin/env bash
# Refresh the vendored JavaScript of the site from the npm registry, at pinned versions.
# The files are committed, so building the site never needs npm or a CDN.
#   bash tools/vendor_assets.sh
set -euo pipefail
MERMAID_VERSION=12.3.0   # UMD build dist/mermaid.min.js (mermaid2 needs the non-ESM file)
MATHJAX_VERSION=3.2.2    # es5/tex-svg-full.js: SVG output needs no font files
root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/docs/assets/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "mermaid@$MERMAID_VERSION" "mathjax@$MATHJAX_VERSION" >/dev/null
mkdir mermaid mathjax
tar xzf "mermaid-$MERMAID_VERSION.tgz" -C mermaid
tar xzf "mathjax-$MATHJAX_VERSION.tgz" -C mathjax
install -D -m 644 mermaid/package/dist/mermaid.min.js "$vendor/mermaid/mermaid.min.js"
install -D -m 644 mermaid/package/LICENSE "$vendor/mermaid/LICENSE.txt"
install -D -m 644 mathjax/package/es5/tex-svg-full.js "$vendor/mathjax/tex-svg-full.js"
install -D -m 644 mathjax/package/LICENSE "$vendor/mathjax/LICENSE.txt"
echo "vendored mermaid $MERMAID_VERSION and mathjax $MATHJAX_VERSION into $vendor"
