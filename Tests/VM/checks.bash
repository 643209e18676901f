# Sourced by every guest test: checks that record a failure and go on, so
# one run reports everything that did not hold; `finish` ends the test.
failures=0
ok() { echo "ok: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# expect WHAT ACTUAL WANTED
expect() {
  if [ "$2" = "$3" ]; then ok "$1 = $3"; else fail "$1 is '$2', want '$3'"; fi
}
finish() {
  [ "$failures" -eq 0 ] || {
    echo "$failures checks failed"
    exit 1
  }
}
