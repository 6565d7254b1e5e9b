#!/usr/bin/env bash
# Throughput of the Beam pipeline (cmd/pseudokit-beam) on the Prism runner,
# in this process, with 1 and 2 cores, next to the single-machine CLI on the
# same rows. See docs/beam.md and benchmarks/README.md.
#
#   bash benchmarks/beam.sh                       # 1,000,000 rows in 8 files
#   ROWS=200000 FILES=4 bash benchmarks/beam.sh
#
# Synthetic data (Test-Norge numbers) in a temp directory removed at the end.
set -euo pipefail

ROWS=${ROWS:-1000000}
FILES=${FILES:-8}
PERSONS=${PERSONS:-100000}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pseudokit-beam-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

cd "$root"
echo "building pseudokit, pseudokit-beam and gen ..."
go build -o "$work/pseudokit" ./cmd/pseudokit
go build -o "$work/gen" ./benchmarks/gen
(cd cmd/pseudokit-beam && go build -o "$work/pseudokit-beam" .)
go run filippo.io/age/cmd/age-keygen -o "$work/worker.key" 2>/dev/null
recipient=$(grep -o 'age1[a-z0-9]*' "$work/worker.key")

echo "generating $ROWS rows in $FILES files from $PERSONS persons ..."
per=$((ROWS / FILES))
for ((i = 0; i < FILES; i++)); do
	mkdir -p "$work/data/part=$i"
	"$work/gen" -rows "$per" -persons "$PERSONS" -seed 1 -row-seed $((i + 1)) -o "$work/data/part=$i/data.csv" 2>/dev/null
done
{
	head -n1 "$work/data/part=0/data.csv"
	for f in "$work"/data/part=*/data.csv; do tail -n +2 "$f"; done
} >"$work/all.csv"
rows=$(($(wc -l <"$work/all.csv") - 1))
cat >"$work/rules.yaml" <<'YAML'
version: 1
columns:
  fnr: {action: code, kind: nid, subject: true}
  email: {action: code, kind: email}
  first_name: {action: fake-name, part: given}
  last_name: {action: fake-name, part: family}
YAML
printf 'bench passphrase\n' >"$work/pass"
newvault() { # a fresh vault: every run makes all its links anew
	rm -f "$work/v.vault"
	"$work/pseudokit" vault init --vault "$work/v.vault" --project bench \
		--passphrase-file "$work/pass" --kdf-time 2 --kdf-memory 19 >/dev/null 2>&1
}
unlock=(--vault "$work/v.vault" --passphrase-file "$work/pass")

results=()
measure() { # NAME COMMAND...: wall, CPU (user + system), peak RSS
	local name=$1 start u s rss
	shift
	start=$(date +%s.%N)
	/usr/bin/time -f '%U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
	read -r u s rss <"$work/time"
	results+=("$name|$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')|$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')|$((rss / 1024))")
	printf '  %-52s done\n' "$name"
}

echo "running ..."
newvault
measure "CLI pseudonymize, one file, --workers 2" "$work/pseudokit" pseudonymize --quiet "${unlock[@]}" \
	--rules "$work/rules.yaml" --workers 2 "$work/all.csv" "$work/out-cli.csv"
for cores in 1 2; do
	newvault
	rm -f "$work/job.grant"
	"$work/pseudokit" vault job "${unlock[@]}" --recipient "$recipient" --purpose bench --out "$work/job.grant" 2>/dev/null
	rm -rf "$work/out" "$work/links"
	measure "beam/prism pseudonymize, GOMAXPROCS=$cores --workers $cores" env GOMAXPROCS=$cores "$work/pseudokit-beam" pseudonymize \
		--input "$work/data/*/*.csv" --output "$work/out" --links "$work/links" --rules "$work/rules.yaml" \
		--grant "$work/job.grant" --identity "$work/worker.key" --workers $cores
	measure "  + vault import of its link files" "$work/pseudokit" vault import "${unlock[@]}" "$work/links"
done
measure "CLI kcheck, one file (3 QIs)" "$work/pseudokit" kcheck --json --qi birth_year,sex,postcode "$work/all.csv"
for cores in 1 2; do
	measure "beam/prism kcheck, GOMAXPROCS=$cores" env GOMAXPROCS=$cores "$work/pseudokit-beam" kcheck \
		--input "$work/data/*/*.csv" --qi birth_year,sex,postcode --out "$work/k-$cores.json"
done

echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD), $rows rows in $FILES files"
printf '| %-52s | %9s | %7s | %7s | %8s |\n' run rows/s "wall s" "CPU s" "RSS MB"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" ----------: --------: --------: ---------:
for r in "${results[@]}"; do
	IFS='|' read -r name wall cpu rss <<<"$r"
	printf '| %-52s | %9.0f | %7.2f | %7.2f | %8s |\n' "$name" "$(awk -v n="$rows" -v w="$wall" 'BEGIN { print n / w }')" "$wall" "$cpu" "$rss"
done
