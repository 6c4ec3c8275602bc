# Sourced by cc-ordered and update-hot-functions.sh: what a symbol's key is, in one place, as
# both must agree. The key of a symbol is its name without rustc's hash (which changes with the
# toolchain, the dependencies and the features a build unifies): `17h<16 hex digits>E` at the
# end of a legacy (_ZN) name, `s<base 62>_` after a crate root `C` in a v0 (_R) name. An awk
# function, for the awk programs of both scripts.
# shellcheck disable=SC2034
symbol_key_awk='
  function key(name) {
    if (name ~ /^_ZN/) sub(/17h[0-9a-f]+E$/, "E", name)
    else if (name ~ /^_R/) gsub(/Cs[0-9A-Za-z]+_/, "C", name)
    return name
  }
'
