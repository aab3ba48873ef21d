/**
 * `docker-credential-moattest`: a credential helper for tests (unit and e2e), as a shell script.
 * One file per server URL in $MOAT_TEST_HELPER_DIR (the `store` input as is, so `get` prints
 * it back); every call is appended to $MOAT_TEST_HELPER_DIR/calls as `ACTION INPUT`;
 * $MOAT_TEST_HELPER_MODE=fail|badjson|hang misbehaves.
 */
export const HELPER = `#!/bin/sh
dir="$MOAT_TEST_HELPER_DIR"
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> "$dir/calls"
case "$MOAT_TEST_HELPER_MODE" in
  fail) echo "the keychain is locked" >&2; exit 3 ;;
  badjson) echo "this is not json"; exit 0 ;;
  hang) sleep 5; exit 0 ;;
esac
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$1" in
  get)
    f="$dir/store-$(key "$input")"
    if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store)
    server=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
    printf '%s' "$input" > "$dir/store-$(key "$server")" ;;
  erase)
    f="$dir/store-$(key "$input")"
    if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
`;
