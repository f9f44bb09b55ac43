# Sourced by the scripts that build released versions (released-library.sh, package.sh) and by
# test.sh: the versions of sql/released/VERSIONS and their source trees. Run from the checkout.
#
#   last_release          the newest released version before the checkout's (Cargo.toml's):
#                         what an upgrade to this version starts from, once it is released too
#   commit_of V|REV       the commit of released version V, or of any revision REV
#   tree_of COMMIT        that commit's tree, extracted once under /var/tmp/pg_baostock-trees
#                         (a commit never changes); prints its directory

last_release() {
  local this
  this=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
  awk -v this="$this" '!/^#/ && NF && $1 != this { v = $1 } END { print v }' sql/released/VERSIONS
}

commit_of() {
  local released
  released=$(awk -v v="$1" '$1 == v { print $2 }' sql/released/VERSIONS)
  git rev-parse --verify "${released:-$1}^{commit}"
}

tree_of() {
  local tree=/var/tmp/pg_baostock-trees/$1
  if [ ! -f "$tree/.complete" ]; then
    rm -rf "$tree"
    mkdir -p "$tree"
    git archive "$1" | tar -x -C "$tree"
    touch "$tree/.complete"
  fi
  echo "$tree"
}
