#!/usr/bin/env bash
# End-to-end throughput of pseudokit against a plain CSV copy and, where
# installed, salted SHA-256 in DuckDB and Python. See benchmarks/README.md.
#
#   bash benchmarks/run.sh              # 1,000,000 rows
#   ROWS=200000 bash benchmarks/run.sh  # another size
#   VAULT_PERSONS=3000000 bash benchmarks/run.sh  # the vault run at 3M persons (0 skips it)
#
# The data are synthetic (Test-Norge identity numbers) and live in a temp
# directory that is removed at the end (KEEP=1 keeps it).
set -euo pipefail

ROWS=${ROWS:-1000000}
PERSONS=${PERSONS:-100000}
# The vault at scale: one run of VAULT_PERSONS rows, each row a person drawn
# at random from VAULT_PERSONS, into a fresh vault, so it adds about 1.26
# links per row (fnr and email of the ~63 % of persons drawn at least once);
# then a second run of as many rows from another pool of as many persons
# (another seed) into the same domain, which then holds those links.
VAULT_PERSONS=${VAULT_PERSONS:-1000000}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pseudokit-bench.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
	echo "keeping $work"
else
	trap 'rm -rf "$work"' EXIT
fi

have_time=0
if [[ -x /usr/bin/time ]]; then
	have_time=1
else
	echo "note: /usr/bin/time not found (apt-get install time): no CPU time or peak RSS" >&2
fi

cd "$root"
echo "building pseudokit, gen and csvcopy ..."
go build -o "$work/pseudokit" ./cmd/pseudokit
go build -o "$work/gen" ./benchmarks/gen
go build -o "$work/csvcopy" ./benchmarks/csvcopy

echo "generating $ROWS rows from $PERSONS persons ..."
"$work/gen" -rows "$ROWS" -persons "$PERSONS" -o "$work/in.csv"
"$work/gen" -rows "$ROWS" -persons "$PERSONS" -o "$work/in.parquet"
csv_mb=$(awk -v b="$(stat -c %s "$work/in.csv")" 'BEGIN { printf "%.0f", b / 1e6 }')
pq_mb=$(awk -v b="$(stat -c %s "$work/in.parquet")" 'BEGIN { printf "%.0f", b / 1e6 }')

printf 'bench passphrase\n' >"$work/pass"
newvault() { # a fresh vault, so every run makes all its links anew
	rm -f "$work/v.vault"
	"$work/pseudokit" vault init --vault "$work/v.vault" --project bench \
		--passphrase-file "$work/pass" --kdf-time 2 --kdf-memory 19 >/dev/null 2>&1
}
kit=("$work/pseudokit" pseudonymize --quiet --vault "$work/v.vault" --passphrase-file "$work/pass"
	--id fnr --code email:email --name first_name,last_name)

results=()
# measure NAME COMMAND...: runs the command once and records wall time,
# CPU time (user + system) and peak RSS.
measure() {
	local name=$1
	shift
	local wall cpu rss start u s
	start=$(date +%s.%N)
	if ((have_time)); then
		/usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >/dev/null
		read -r u s rss <"$work/time"
		cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
		rss=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
	else
		"$@" >/dev/null
		cpu=-
		rss=-
	fi
	wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
	results+=("$name|$wall|$cpu|$rss")
	printf '  %-44s %8ss\n' "$name" "$wall"
}

echo "running ..."
measure "csvcopy: encoding/csv copy (baseline)" "$work/csvcopy" "$work/in.csv" "$work/out-copy.csv"
newvault
measure "pseudokit CSV -> CSV" "${kit[@]}" "$work/in.csv" "$work/out.csv"
measure "pseudokit CSV -> CSV, re-run" "${kit[@]}" "$work/in.csv" "$work/out-rerun.csv"
# Withdrawal of 10 persons (by code) from a copy of the pseudonymised CSV.
cp "$work/out.csv" "$work/withdraw.csv"
wcodes=()
while read -r c; do wcodes+=(--code "$c"); done < <(tail -n +2 "$work/withdraw.csv" | cut -d, -f1 | sort -u | head -n 10)
measure "pseudokit withdraw 10 persons (CSV)" "$work/pseudokit" withdraw --quiet --vault "$work/v.vault" \
	--passphrase-file "$work/pass" --purpose bench --receipt "$work/receipt" "${wcodes[@]}" "$work/withdraw.csv"
newvault
measure "pseudokit Parquet -> Parquet" "${kit[@]}" "$work/in.parquet" "$work/out.parquet"
measure "pseudokit Parquet -> Parquet, re-run" "${kit[@]}" "$work/in.parquet" "$work/out-rerun.parquet"
measure "pseudokit kcheck Parquet, 8 QIs" "$work/pseudokit" kcheck --json \
	--qi birth_year,sex,postcode,municipality,diagnosis,first_name,last_name,measurement "$work/in.parquet"
vault_line=
if ((VAULT_PERSONS > 0)); then
	"$work/gen" -rows "$VAULT_PERSONS" -persons "$VAULT_PERSONS" -o "$work/vault-in.csv"
	newvault
	n=${#results[@]}
	measure "pseudokit CSV, $VAULT_PERSONS new persons" "${kit[@]}" "$work/vault-in.csv" "$work/vault-out.csv"
	IFS='|' read -r _ vwall vcpu vrss <<<"${results[n]}"
	unset 'results[n]' # its rows are not the table's
	links=$("$work/pseudokit" vault info --vault "$work/v.vault" --passphrase-file "$work/pass" | awk '/ links$/ { print $(NF - 1) }')
	vault_line=$(awk -v l="$links" -v w="$vwall" -v c="$vcpu" -v r="$vrss" -v p="$VAULT_PERSONS" 'BEGIN {
		printf "vault: one run of %d rows from %d persons added %d links in %.2f s wall (%s CPU s, peak RSS %s MB): %.0f new links/s", p, p, l, w, c, r, l / w }')
	"$work/gen" -rows "$VAULT_PERSONS" -persons "$VAULT_PERSONS" -seed 2 -o "$work/vault-in.csv"
	n=${#results[@]}
	measure "pseudokit CSV, $VAULT_PERSONS more persons" "${kit[@]}" "$work/vault-in.csv" "$work/vault-out.csv"
	IFS='|' read -r _ vwall vcpu vrss <<<"${results[n]}"
	unset 'results[n]'
	links2=$("$work/pseudokit" vault info --vault "$work/v.vault" --passphrase-file "$work/pass" | awk '/ links$/ { print $(NF - 1) }')
	vault_line+=$'\n'$(awk -v l="$links" -v l2="$links2" -v w="$vwall" -v c="$vcpu" -v r="$vrss" -v p="$VAULT_PERSONS" 'BEGIN {
		printf "vault: a second run of %d rows from %d other persons (seed 2) into the domain holding those %d links added %d links in %.2f s wall (%s CPU s, peak RSS %s MB): %.0f new links/s", p, p, l, l2 - l, w, c, r, (l2 - l) / w }')
	rm -f "$work/vault-in.csv" "$work/vault-out.csv"
fi

salt=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
# DuckDB: the duckdb CLI if installed, else DuckDB's Node API from
# benchmarks/duckdb (installed there from its package-lock.json by npm; the
# npm package ships libduckdb). Both run the same COPY with 2 threads; the
# salt there is the hex text (Python's run below takes the 16 bytes it encodes).
duck=()
duck_version=
if command -v duckdb >/dev/null; then
	duck=(cli)
	duck_version="$(duckdb -noheader -list -c 'SELECT version()' 2>/dev/null || true) (duckdb CLI)"
elif command -v node >/dev/null && command -v npm >/dev/null; then
	dd=benchmarks/duckdb
	if [[ -f $dd/node_modules/.installed-lock ]] && cmp -s "$dd/package-lock.json" "$dd/node_modules/.installed-lock" &&
		node "$dd/duckdb-hash.mjs" --version >/dev/null 2>&1; then
		: # installed by an earlier run from the same lock
	# npm install, not npm ci: the registry reached here has only the linux-x64
	# build of @duckdb/node-bindings, so the lock cannot list the other
	# platforms' optional builds and npm ci refuses it as out of sync. With the
	# lock present npm install takes its versions and integrity hashes;
	# --no-save leaves package.json and the lock as they are.
	elif npm install --prefix "$dd" --no-save --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1 &&
		node "$dd/duckdb-hash.mjs" --version >/dev/null 2>"$work/npm.log"; then
		cp "$dd/package-lock.json" "$dd/node_modules/.installed-lock"
	else
		why=$(grep -iE 'error|err_' "$work/npm.log" | grep -v -e 'complete log' -e '^npm error *$' | head -n1 || true)
		echo "note: skipping DuckDB: installing it with npm in $dd failed: ${why:-see npm install --prefix $dd}" >&2
		dd=
	fi
	if [[ -n $dd ]]; then
		duck=(node "$dd/duckdb-hash.mjs")
		duck_version="$(node "$dd/duckdb-hash.mjs" --version) (Node API @duckdb/node-api $(node -p "require('./$dd/package.json').dependencies['@duckdb/node-api']"), node $(node --version))"
	fi
fi
if [[ ${duck[0]:-} == cli ]]; then
	hashed="* REPLACE (sha256('$salt' || fnr) AS fnr, sha256('$salt' || email) AS email,
		sha256('$salt' || first_name) AS first_name, sha256('$salt' || last_name) AS last_name)"
	measure "duckdb salted sha256 CSV -> CSV" duckdb -c "SET threads = 2;
		COPY (SELECT $hashed FROM read_csv('$work/in.csv', all_varchar = true)) TO '$work/out-duck.csv' (HEADER, DELIMITER ',')"
	measure "duckdb salted sha256 Parquet -> Parquet" duckdb -c "SET threads = 2;
		COPY (SELECT $hashed FROM read_parquet('$work/in.parquet')) TO '$work/out-duck.parquet' (FORMAT parquet)"
elif ((${#duck[@]})); then
	measure "duckdb/node salted sha256 CSV -> CSV" "${duck[@]}" "$salt" "$work/in.csv" "$work/out-duck.csv"
	measure "duckdb/node salted sha256 Parquet -> Parquet" "${duck[@]}" "$salt" "$work/in.parquet" "$work/out-duck.parquet"
fi
if command -v python3 >/dev/null; then
	cat >"$work/hash.py" <<'EOF'
import csv, hashlib, sys
salt = bytes.fromhex(sys.argv[3])
with open(sys.argv[1], newline="", encoding="utf-8") as f, open(sys.argv[2], "w", newline="", encoding="utf-8") as g:
    r, w = csv.reader(f), csv.writer(g, lineterminator="\n")
    header = next(r)
    w.writerow(header)
    cols = [header.index(c) for c in ("fnr", "email", "first_name", "last_name")]
    sha = hashlib.sha256
    for row in r:
        for i in cols:
            row[i] = sha(salt + row[i].encode()).hexdigest()
        w.writerow(row)
EOF
	measure "python3 csv + hashlib salted sha256" python3 "$work/hash.py" "$work/in.csv" "$work/out-py.csv" "$salt"
fi

# Sanity: every output has the input's row count.
want=$((ROWS + 1))
for f in "$work"/out*.csv; do
	got=$(wc -l <"$f")
	if ((got != want)); then
		echo "error: $f has $got lines, want $want" >&2
		exit 1
	fi
done

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(go env GOVERSION), load average $(cut -d' ' -f1-3 /proc/loadavg)"
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then rev="$rev+changes"; fi
echo "pseudokit $rev"
if [[ -n $duck_version ]]; then echo "duckdb $duck_version"; fi
echo "$ROWS rows from $PERSONS persons: CSV $csv_mb MB, Parquet $pq_mb MB; pseudokit codes fnr and email and fakes first and last name"
echo
base_wall=$(cut -d'|' -f2 <<<"${results[0]}")
printf '| %-44s | %9s | %7s | %7s | %10s | %11s | %11s |\n' run "rows/s" "wall s" "CPU s" "rows/CPU s" "peak RSS MB" "vs baseline"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" ----------: --------: --------: -----------: ------------: ------------:
for r in "${results[@]}"; do
	IFS='|' read -r name wall cpu rss <<<"$r"
	awk -v n="$name" -v rows="$ROWS" -v wall="$wall" -v cpu="$cpu" -v rss="$rss" -v base="$base_wall" 'BEGIN {
		rps = wall > 0 ? rows / wall : 0 # wall is never 0: it includes starting the process
		cps = (cpu != "-" && cpu > 0) ? sprintf("%.0f", rows / cpu) : "-"
		printf "| %-44s | %9.0f | %7.2f | %7s | %10s | %11s | %10.1fx |\n", n, rps, wall, cpu, cps, rss, (base > 0 ? wall / base : 0)
	}'
done
if [[ -n $vault_line ]]; then
	echo
	echo "$vault_line"
fi
