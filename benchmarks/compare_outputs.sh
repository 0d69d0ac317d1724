#!/usr/bin/env bash
# Results of the CLI on fixed inputs, for comparing two versions byte for byte (the layout step was checked so):
#   bash benchmarks/compare_outputs.sh /tmp/before   # on the old commit
#   bash benchmarks/compare_outputs.sh /tmp/after    # on the new one
#   diff -r /tmp/before /tmp/after -x report.html     # ids, ranks, scores, assignments, filters: no difference
# Runs the demo, a generated 1,500-expert round (hashing and MiniLM; shortlist and assign) and the docs evaluation
# set in-process and on Dask threads. Uses the embedding cache in $GSCP_MATCH_CACHE (results do not depend on it).
set -euo pipefail
out=$1
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$out"; mkdir -p "$out"
export GSCP_MATCH_QUIET=1 HF_HUB_OFFLINE=1
gscp-match demo --out "$out/demo" >/dev/null
gscp-match generate --experts 1500 --requests 30 --seed 11 --out "$out/gen" >/dev/null
for emb in hashing minilm; do
  gscp-match shortlist --requests "$out/gen/requests.csv" --experts "$out/gen/experts.csv" \
    --evidence "$out/gen/evidence.csv" --embedder $emb --top 20 --out "$out/sl_$emb" >/dev/null
  gscp-match assign --requests "$out/gen/requests.csv" --experts "$out/gen/experts.csv" \
    --evidence "$out/gen/evidence.csv" --embedder $emb --out "$out/as_$emb" >/dev/null
done
docs="$here/evalset_docs/a"
gscp-match shortlist --requests "$docs/requests.csv" --experts "$docs/experts.csv" --evidence "$docs/evidence.csv" \
  --top 30 --out "$out/docs_a" >/dev/null
gscp-match shortlist --requests "$docs/requests.csv" --experts "$docs/experts.csv" --evidence "$docs/evidence.csv" \
  --top 30 --scheduler threads --out "$out/docs_a_dask" >/dev/null
echo "wrote $out"
