#!/usr/bin/env bash
# openapi-diff.sh BASE: what a change does to the HTTP API, read from its OpenAPI document
# (functions/manifest/openapi.json), as Markdown for a GitHub job summary or a terminal: the
# breaking changes oasdiff finds (removed routes or fields, narrowed types, new required
# inputs), flagged at the top, then the document's raw diff. BASE is the git revision before
# the change (in CI, the pull request's base commit).
#
#   make openapi-diff BASE=origin/main
#
# Needs git and oasdiff ($OASDIFF, default oasdiff on the PATH). MAX_DIFF_LINES (default 400)
# caps the raw diff so a large change still fits a job summary.
set -euo pipefail

base=${1:?usage: openapi-diff.sh BASE-REVISION}
oasdiff=${OASDIFF:-oasdiff}
max_diff=${MAX_DIFF_LINES:-400}
doc=functions/manifest/openapi.json

cd "$(git rev-parse --show-toplevel)"
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || {
	echo "openapi-diff: unknown revision $base" >&2
	exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
old=$tmp/base.json
git show "$base:$doc" >"$old" 2>/dev/null || echo '{"openapi":"3.1.0","info":{"title":"none","version":"0"},"paths":{}}' >"$old"

echo "## API change (OpenAPI document against \`$(git rev-parse --short "$base")\`)"
echo
if cmp -s "$old" "$doc"; then
	echo "No change."
	exit 0
fi
if ! "$oasdiff" breaking --fail-on WARN "$old" "$doc" -f singleline >/dev/null; then
	echo "> [!CAUTION]"
	echo "> This change breaks clients of the API: a route, a field or an answer they rely on is"
	echo "> removed or narrowed, or a new input is required. Say why in the pull request."
	echo
fi
"$oasdiff" breaking "$old" "$doc" -f markdown | sed '1,/^$/d'
echo
git diff --no-index --no-color -U3 -- "$old" "$doc" >"$tmp/doc.diff" || true
total=$(($(wc -l <"$tmp/doc.diff") - 4))
echo "<details><summary>Raw document diff ($total lines$( ((total > max_diff)) && echo ", first $max_diff shown"))</summary>"
echo
echo '```diff'
sed -n "5,$((max_diff + 4))p" "$tmp/doc.diff"
echo '```'
echo
echo "</details>"
