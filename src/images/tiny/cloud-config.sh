# Reading a cloud-init NoCloud seed with busybox sh and awk: sourced by /init, and run by
# test/integration/image-build.test.ts with the guest's own busybox. Only what the node writes
# is understood: top-level "key: value" lines and the ssh_authorized_keys block list.

# The value of a top-level "KEY: value" line of a YAML file, without quotes.
yaml_value() {
  awk -v key="$1" -v sq="'" '
    { sub(/\r$/, "") }
    index($0, key ":") == 1 {
      v = substr($0, length(key) + 2)
      sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
      q = substr(v, 1, 1)
      if (length(v) >= 2 && (q == "\"" || q == sq) && substr(v, length(v), 1) == q) v = substr(v, 2, length(v) - 2)
      print v
      exit
    }' "$2"
}

# The entries of the top-level ssh_authorized_keys list of a cloud-config, one per line,
# plain or quoted ("..." or '...').
authorized_keys() {
  awk -v sq="'" '
    function unquote(v,   q) {
      sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
      q = substr(v, 1, 1)
      if (length(v) >= 2 && (q == "\"" || q == sq) && substr(v, length(v), 1) == q) {
        v = substr(v, 2, length(v) - 2)
        if (q == sq) gsub(sq sq, sq, v)
        else { gsub(/\\"/, "\"", v); gsub(/\\\\/, "\\", v) }
      }
      return v
    }
    { sub(/\r$/, "") }
    /^ssh_authorized_keys:[ \t]*$/ { inlist = 1; next }
    inlist && /^[ \t]*-[ \t]/ { v = $0; sub(/^[ \t]*-/, "", v); v = unquote(v); if (v != "") print v; next }
    inlist && /^[ \t]*(#.*)?$/ { next }
    { inlist = 0 }
  ' "$1"
}

# The ISO 9660 volume id sits at byte 32808 of the volume (32 bytes, space padded).
volume_label() {
  dd if="$1" bs=8 skip=4101 count=4 2>/dev/null | tr -d ' \000'
}
