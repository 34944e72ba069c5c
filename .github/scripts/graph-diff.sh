#!/usr/bin/env bash
# graph-diff.sh BASE: what a change does to the infrastructure, read from the graph snapshots
# (stacks/testdata/<stack>.graph.json), as Markdown for a GitHub job summary or a terminal.
# Per stack: the resources created, deleted and updated (with the fields that change), red
# flags (a protected resource losing its protection, a data resource deleted), then the raw
# snapshot diff. BASE is the git revision before the change (in CI, the pull request's base
# commit); the snapshots after it are the ones in the working tree.
#
#   go test ./stacks/... -update && .github/scripts/graph-diff.sh origin/main
#
# Needs git and jq. MAX_ROWS (default 150) and MAX_DIFF_LINES (default 400) cap each stack's
# table and raw diff so a large change still fits a job summary.
set -euo pipefail

base=${1:?usage: graph-diff.sh BASE-REVISION}
max_rows=${MAX_ROWS:-150}
max_diff=${MAX_DIFF_LINES:-400}
dir=stacks/testdata

cd "$(git rev-parse --show-toplevel)"
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || {
	echo "graph-diff: unknown revision $base" >&2
	exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Stacks with a snapshot before or after the change.
mapfile -t stacks < <(
	{
		git ls-tree --name-only "$base" "$dir/"
		ls "$dir"/*.graph.json 2>/dev/null || true
	} | sed -n 's|^.*/\([^/]*\)\.graph\.json$|\1|p' | sort -u
)

# The resource-level summary of one stack: a Markdown table, worst news first.
read -r -d '' summary <<'JQ' || true
def byurn: map({key: .urn, value: .}) | from_entries;
def ins: (.inputs // {});
def changed($a; $b):
  [ (($a | ins | keys) + ($b | ins | keys)) | unique[]
    | select(($a | ins)[.] != ($b | ins)[.]) ]
  + [ "protect", "retainOnDelete", "parent" | select($a[.] != $b[.]) ];
def data: .type | test("^aws:(dynamodb/table:Table|s3/bucketV2:BucketV2|cognito/userPool:UserPool)$");
def code: "`" + (tostring | gsub("`"; "'")) + "`";

($old[0] | byurn) as $o | ($new[0] | byurn) as $n |
(
  [ $o | keys[] | select($n[.] == null) | $o[.]
    | {rank: (if data then 0 else 2 end), op: "- delete", r: .,
       note: (if data then "**data resource deleted**" elif .protect then "**protected**" else "" end)} ]
  + [ $n | keys[] | select($o[.] != null and $o[.] != $n[.]) | . as $u
    | {rank: (if $o[$u].protect and ($n[$u].protect | not) then 1 else 3 end), op: "~ update", r: $n[$u],
       note: ((if $o[$u].protect and ($n[$u].protect | not) then "**protection removed**; " else "" end)
              + (changed($o[$u]; $n[$u]) | map(code) | join(", ")))} ]
  + [ $n | keys[] | select($o[.] == null) | $n[.] | {rank: 4, op: "+ create", r: ., note: ""} ]
) | sort_by(.rank, .r.urn) as $rows |
([ $rows[] | select(.op == "+ create") ] | length) as $c |
([ $rows[] | select(.op == "~ update") ] | length) as $u |
([ $rows[] | select(.op == "- delete") ] | length) as $d |
"\($c) to create, \($u) to update, \($d) to delete.\n",
"| change | resource | type | fields, notes |",
"|---|---|---|---|",
($rows[:$max] | .[] | "| \(.op) | \(.r.name | code) | \(.r.type | code) | \(.note) |"),
(if ($rows | length) > $max then "| ... | \(($rows | length) - $max) more | | |" else empty end)
JQ

echo "## Infrastructure change (graph snapshots against \`$(git rev-parse --short "$base")\`)"
echo
for s in "${stacks[@]}"; do
	old=$tmp/$s.old.json
	new=$tmp/$s.new.json
	git show "$base:$dir/$s.graph.json" >"$old" 2>/dev/null || echo '[]' >"$old"
	if [[ -f $dir/$s.graph.json ]]; then cp "$dir/$s.graph.json" "$new"; else echo '[]' >"$new"; fi

	echo "### \`$s\`"
	echo
	if cmp -s "$old" "$new"; then
		echo "No change."
		echo
		continue
	fi
	jq -rn --slurpfile old "$old" --slurpfile new "$new" --argjson max "$max_rows" "$summary"
	echo
	git diff --no-index --no-color -U3 -- "$old" "$new" >"$tmp/$s.diff" || true
	total=$(($(wc -l <"$tmp/$s.diff") - 4))
	echo "<details><summary>Raw snapshot diff ($total lines$( ((total > max_diff)) && echo ", first $max_diff shown"))</summary>"
	echo
	echo '```diff'
	sed -n "5,$((max_diff + 4))p" "$tmp/$s.diff"
	echo '```'
	echo
	echo "</details>"
	echo
done
echo "Updates list the inputs that change; whether AWS replaces a resource shows only in the"
echo "preview. How to read this: stacks/README.md, \"Reading a graph snapshot diff\"."
