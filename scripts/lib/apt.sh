# Sourced by the setup scripts: Debian packages installed when missing (apt is slow to ask).
#
#   apt_install PACKAGE...   installs those of the packages that are not installed; says which
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    printf '[setup] apt: installing %s\n' "${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    printf '[setup] apt: all of %s present\n' "$*"
  fi
}
