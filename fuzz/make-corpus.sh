#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets (docs/fuzzing.md) from real bundles:
#
#   fuzz/make-corpus.sh
#
# Builds cim-keys, makes small vaults through the real binary in a temp dir, exports each to
# an X25519 recipient made by age-keygen and decrypts it with `age -d` (Debian's age, from
# `scripts/test --prerequisites`):
#
#   corpus/bundle_reader/  the plaintext CARs (bundle_reader's input)
#   corpus/car_reader/     the same CARs
#   corpus/bundle_age/     the same CARs encrypted to the harness's passphrase with scrypt work
#                          factor 1 (fuzz/src/bin/seal_seeds.rs), and one bundle as exported,
#                          encrypted to the recipient
#
# The seeds are small on purpose (under 200 KB in all); ids and timestamps differ every run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { printf 'make-corpus: %s\n' "$*" >&2; }
for tool in age age-keygen; do
    command -v "$tool" >/dev/null || { log "$tool is missing: run scripts/test --prerequisites"; exit 1; }
done

cargo build --quiet --bin cim-keys
bin="${CARGO_TARGET_DIR:-target}/debug/cim-keys"
(cd fuzz && cargo +nightly build --quiet --release --bin seal_seeds)
seal_seeds=fuzz/target/release/seal_seeds

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export CIM_KEYS_PASSPHRASE="make-corpus vault passphrase"
unset CIM_KEYS_DATA_DIR CIM_KEYS_BUNDLE_PASSPHRASE
age-keygen -o "$tmp/id.txt" 2>/dev/null
recipient="$(age-keygen -y "$tmp/id.txt")"

# export_car NAME VAULT [ARGS...]: exports VAULT to the recipient and decrypts it to $tmp/cars/NAME.car.
mkdir -p "$tmp/cars" "$tmp/bundles"
export_car() {
    local name=$1 vault=$2
    shift 2
    "$bin" --data-dir "$vault" export --out "$tmp/out-$name" --recipient "$recipient" "$@" >/dev/null
    local file
    file="$(echo "$tmp/out-$name"/*.age)"
    [[ -f $file ]] || { log "export $name wrote no bundle"; exit 1; }
    cp "$file" "$tmp/bundles/$name.age"
    age -d -i "$tmp/id.txt" -o "$tmp/cars/$name.car" "$file"
}

run() { "$bin" --data-dir "$vault" "$@"; }

# 1. One organization: one domain event, one graph event.
vault="$tmp/one"
run init >/dev/null
org="$(run org create --name Solo)"
export_car org-only "$vault"

# 2. An organization with a unit tree, a person, a role (no artifacts), then what came after.
vault="$tmp/people"
run init >/dev/null
org="$(run org create --name Acme --domain acme.example)"
eng="$(run unit create --org "$org" --name Engineering)"
ops="$(run unit create --org "$org" --name Operations --parent "$eng")"
ann="$(run person add --org "$org" --name Ann --email ann@acme.example --unit "$ops")"
role="$(run role define --org "$org" --name Officer)"
run role assign --role "$role" --person "$ann" >/dev/null
export_car people "$vault"
run person add --org "$org" --name Bob --email bob@acme.example --unit "$eng" >/dev/null
export_car people-since-last "$vault" --since-last

# 3. With the NATS tree and the CA hierarchy: JWT and certificate artifact blocks.
vault="$tmp/full"
run init >/dev/null
org="$(run org create --name Acme)"
unit="$(run unit create --org "$org" --name Eng)"
run person add --org "$org" --name Ann --email ann@acme.example --unit "$unit" >/dev/null
run nats bootstrap --org "$org" >/dev/null
run pki init --org "$org" >/dev/null
export_car nats-pki "$vault"

for target in bundle_reader car_reader bundle_age; do
    rm -rf "fuzz/corpus/$target"
    mkdir -p "fuzz/corpus/$target"
done
cp "$tmp"/cars/*.car fuzz/corpus/bundle_reader/
cp "$tmp"/cars/*.car fuzz/corpus/car_reader/
"$seal_seeds" fuzz/corpus/bundle_age "$tmp"/cars/*.car >/dev/null
cp "$tmp/bundles/org-only.age" fuzz/corpus/bundle_age/org-only-recipient.age
log "wrote $(find fuzz/corpus -type f | wc -l) seeds, $(du -sk fuzz/corpus | cut -f1) KB:"
find fuzz/corpus -type f -printf '  %p %s bytes\n' | sort >&2
