#!/usr/bin/env bash
# Rebuilds marketsync/web/static/vendor/ from the npm packages pinned in package-lock.json.
# Needs node and npm; nothing is built or bundled: the packages' own browser files are
# copied as published, with their licences. Run from anywhere: bash web/vendor.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund --silent
out=../marketsync/web/static/vendor
rm -rf "$out"
mkdir -p "$out"

copy() {  # copy PACKAGE FILE...: the files into vendor/PACKAGE@VERSION/ with the licence
  local pkg=$1; shift
  local version dir
  version=$(node -p "require('./node_modules/$pkg/package.json').version")
  dir="$out/$(basename "$pkg")-$version"
  mkdir -p "$dir"
  for file in "$@"; do cp "node_modules/$pkg/$file" "$dir/"; done
  for licence in LICENSE LICENSE.md; do
    if [ -f "node_modules/$pkg/$licence" ]; then cp "node_modules/$pkg/$licence" "$dir/LICENSE"; fi
  done
}

copy react umd/react.production.min.js
copy react-dom umd/react-dom.production.min.js
copy js-cookie dist/js.cookie.min.js
copy graphiql graphiql.min.js graphiql.min.css
copy @graphiql/plugin-explorer dist/index.umd.js dist/style.css
copy graphql-ws umd/graphql-ws.min.js

# @graphiql/plugin-explorer publishes no licence file: it is MIT, from the same
# repository (graphql/graphiql) as graphiql, whose LICENSE is that licence. Its bundle
# includes graphiql-explorer (MIT, OneGraph), whose licence is shipped beside it.
explorer=$(ls -d "$out"/plugin-explorer-*)
cp node_modules/graphiql/LICENSE "$explorer/LICENSE"
cp node_modules/@graphiql/plugin-explorer/node_modules/graphiql-explorer/LICENSE \
  "$explorer/LICENSE.graphiql-explorer"

(cd "$out" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $out:"
cat "$out/SHA256SUMS"
