#!/bin/sh
# Seeds corpus/decode with the golden messages of schemas/tests/golden (hex -> binary).
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/decode
for f in ../schemas/tests/golden/*.hex; do
    tr -d '\n' < "$f" | xxd -r -p > "corpus/decode/$(basename "$f" .hex)"
done
echo "seeded $(ls corpus/decode | wc -l) inputs"
