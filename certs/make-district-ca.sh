#!/usr/bin/env bash
# Create the district CA that Hallpass uses for TLS interception, with the openssl CLI only.
#
#   certs/make-district-ca.sh [--out DIR] [--name "District Name"] [--days N]
#                             [--intermediate] [--force]
#
# Root only (default):  root.key root.pem, and ca.pem = root.pem, ca.key = root.key.
# --intermediate:       also intermediate.key intermediate.pem (signed by the root, 730 days,
#                       never past the root); ca.pem = intermediate + root, ca.key = a copy
#                       of intermediate.key. Keep root.key offline afterwards.
#
# Keys are ECDSA P-256, created under umask 077 and checked to be mode 0600. Existing files
# are never overwritten without --force. See certs/README.md.
set -euo pipefail

prog=$(basename "$0")
out="./district-ca"
name="Example Public Schools"
name_given=0
days=3650
intermediate=0
force=0
int_days_max=730

usage() {
  cat <<EOF
Usage: $prog [--out DIR] [--name "District Name"] [--days N] [--intermediate] [--force]

Creates the district CA for Hallpass TLS interception.

  --out DIR        where to write the files (default: ./district-ca)
  --name NAME      district name, used in the certificate names
                   (root: "NAME Hallpass Root CA", organization "NAME")
  --days N         validity of the root in days (default: 3650)
  --intermediate   also create an intermediate CA signed by the root (valid $int_days_max days,
                   never past the root); Hallpass then holds only the intermediate's key
                   and root.key can be kept offline
  --force          replace existing CA files in DIR
  -h, --help       this text

Files: root.key root.pem [intermediate.key intermediate.pem] ca.pem ca.key
Give clients root.pem only. Point hallpass.yaml at ca.pem and ca.key.
EOF
}

die() {
  echo "$prog: error: $*" >&2
  exit 1
}

need_value() {
  # $1 option, $2 number of arguments left including the option
  [[ $2 -ge 2 ]] || die "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) need_value "$1" $#; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --name) need_value "$1" $#; name=$2; name_given=1; shift 2 ;;
    --name=*) name=${1#*=}; name_given=1; shift ;;
    --days) need_value "$1" $#; days=$2; shift 2 ;;
    --days=*) days=${1#*=}; shift ;;
    --intermediate) intermediate=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

command -v openssl >/dev/null 2>&1 || die "openssl not found in PATH"

# --- check the arguments ---------------------------------------------------------------

[[ -n $out ]] || die "--out must not be empty"
if [[ ! $days =~ ^[0-9]{1,6}$ ]] || [[ $((10#$days)) -lt 1 || $((10#$days)) -gt 36500 ]]; then
  die "--days must be a whole number of days from 1 to 36500 (got: $days)"
fi
days=$((10#$days))

# Trim surrounding blanks; refuse control characters.
name="${name#"${name%%[![:space:]]*}"}"
name="${name%"${name##*[![:space:]]}"}"
[[ -n $name ]] || die "--name must not be empty"
[[ $name != *[[:cntrl:]]* ]] || die "--name must not contain control characters"

root_cn="$name Hallpass Root CA"
int_cn="$name Hallpass Intermediate CA"
# X.509 limits commonName and organizationName to 64 characters.
longest_cn=$root_cn
if [[ $intermediate -eq 1 ]]; then longest_cn=$int_cn; fi
[[ ${#name} -le 64 && ${#longest_cn} -le 64 ]] ||
  die "--name is too long: \"$longest_cn\" would exceed the 64-character limit of a certificate name; use a shorter form (at most $((64 - ${#longest_cn} + ${#name})) characters)"

int_days=0
if [[ $intermediate -eq 1 ]]; then
  # The intermediate must expire before the root does.
  [[ $days -ge 2 ]] || die "--days must be at least 2 with --intermediate"
  int_days=$int_days_max
  if [[ $int_days -ge $days ]]; then
    int_days=$((days - 1))
  fi
fi

files=(root.key root.pem intermediate.key intermediate.pem ca.pem ca.key)

umask 077
mkdir -p -- "$out" || die "cannot create $out"
out=$(cd -- "$out" && pwd -P)

existing=()
for f in "${files[@]}"; do
  if [[ -e $out/$f || -L $out/$f ]]; then
    existing+=("$out/$f")
  fi
done
if [[ ${#existing[@]} -gt 0 && $force -eq 0 ]]; then
  printf '%s: error: these files already exist (nothing was changed):\n' "$prog" >&2
  printf '  %s\n' "${existing[@]}" >&2
  die "use --force to replace them, or --out to pick another folder"
fi

if [[ $name_given -eq 0 ]]; then
  echo "$prog: warning: --name not given; using \"$name\". Clients will see this name." >&2
fi

# --- helpers -----------------------------------------------------------------------------

# Octal permission bits of a file (GNU stat, then BSD/macOS stat).
mode_of() {
  stat -c '%a' -- "$1" 2>/dev/null || stat -f '%Lp' -- "$1" 2>/dev/null || echo "unknown"
}

check_key_mode() {
  local mode
  mode=$(mode_of "$1")
  if [[ $mode != "600" ]]; then
    die "private key $1 has mode $mode, expected 600 (owner read/write only). Check the filesystem and ACLs of $out (a FAT/SMB mount cannot keep modes), remove any key left there, and run again"
  fi
}

# One -subj component: escape '\' and '/' as `openssl req -subj` requires.
subj_escape() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\//\\/}"
}

# A random positive 128-bit serial number.
new_serial() {
  printf '0x%s' "$(openssl rand -hex 16)"
}

new_key() {
  openssl genpkey -algorithm EC \
    -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
    -out "$1" 2>"$work/err" || { cat "$work/err" >&2; die "openssl genpkey failed for $1"; }
  chmod 600 -- "$1"
  check_key_mode "$1"
}

end_epoch() {
  local end
  end=$(openssl x509 -noout -enddate -in "$1") || die "cannot read $1"
  end=${end#notAfter=}
  date -u -d "$end" +%s 2>/dev/null || date -u -j -f '%b %e %T %Y %Z' "$end" +%s 2>/dev/null || echo ""
}

# --- build everything in a private scratch folder, then move it into place ---------------

work=$(mktemp -d "$out/.make-district-ca.XXXXXX") || die "cannot create a scratch folder in $out"
cleanup() { rm -rf -- "$work"; }
trap cleanup EXIT

cat >"$work/openssl.cnf" <<'EOF'
# Written by make-district-ca.sh; used only while it runs.
[ req ]
distinguished_name = dn
string_mask = utf8only
prompt = no

[ dn ]

[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ v3_intermediate ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

org=$(subj_escape "$name")

echo "Creating the root CA \"$root_cn\" ($days days)..."
new_key "$work/root.key"
openssl req -new -x509 -utf8 -sha256 \
  -config "$work/openssl.cnf" -extensions v3_root \
  -key "$work/root.key" -days "$days" -set_serial "$(new_serial)" \
  -subj "/CN=$(subj_escape "$root_cn")/O=$org" \
  -out "$work/root.pem" 2>"$work/err" || { cat "$work/err" >&2; die "could not create root.pem"; }

if [[ $intermediate -eq 1 ]]; then
  echo "Creating the intermediate CA \"$int_cn\" ($int_days days), signed by the root..."
  new_key "$work/intermediate.key"
  openssl req -new -utf8 -sha256 \
    -config "$work/openssl.cnf" \
    -key "$work/intermediate.key" \
    -subj "/CN=$(subj_escape "$int_cn")/O=$org" \
    -out "$work/intermediate.csr" 2>"$work/err" || { cat "$work/err" >&2; die "could not create the intermediate request"; }
  openssl x509 -req -sha256 \
    -in "$work/intermediate.csr" \
    -CA "$work/root.pem" -CAkey "$work/root.key" -set_serial "$(new_serial)" \
    -days "$int_days" -extfile "$work/openssl.cnf" -extensions v3_intermediate \
    -out "$work/intermediate.pem" 2>"$work/err" || { cat "$work/err" >&2; die "could not sign the intermediate"; }

  openssl verify -CAfile "$work/root.pem" "$work/intermediate.pem" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; die "the new intermediate does not verify against the new root"; }
  root_end=$(end_epoch "$work/root.pem")
  int_end=$(end_epoch "$work/intermediate.pem")
  if [[ -n $root_end && -n $int_end && $int_end -gt $root_end ]]; then
    die "the intermediate would outlive the root; use a larger --days"
  fi

  cat "$work/intermediate.pem" "$work/root.pem" >"$work/ca.pem"
  cp -- "$work/intermediate.key" "$work/ca.key"
else
  cp -- "$work/root.pem" "$work/ca.pem"
  cp -- "$work/root.key" "$work/ca.key"
fi
chmod 600 -- "$work/ca.key"
check_key_mode "$work/ca.key"
# Certificates are public: readable by everyone.
for f in root.pem ca.pem; do chmod 644 -- "$work/$f"; done
if [[ $intermediate -eq 1 ]]; then chmod 644 -- "$work/intermediate.pem"; fi

# Move into place. With --force, old files go first so nothing keeps an old mode or a
# stale intermediate from an earlier run.
if [[ $force -eq 1 ]]; then
  for f in "${files[@]}"; do rm -f -- "${out:?}/$f"; done
fi
made=(root.key root.pem)
if [[ $intermediate -eq 1 ]]; then made+=(intermediate.key intermediate.pem); fi
made+=(ca.pem ca.key)
for f in "${made[@]}"; do
  mv -f -- "$work/$f" "$out/$f"
done

# Final check where the keys now live.
for f in "${made[@]}"; do
  if [[ $f == *.key ]]; then check_key_mode "$out/$f"; fi
done

fingerprint=$(openssl x509 -noout -fingerprint -sha256 -in "$out/root.pem")
fingerprint=${fingerprint#*=}

# --- what to do next ---------------------------------------------------------------------

cat <<EOF

Done. Files in $out:
EOF
for f in "${made[@]}"; do
  printf '  %-18s mode %s\n' "$f" "$(mode_of "$out/$f")"
done
cat <<EOF

1. Hallpass configuration (hallpass.yaml):

     tls:
       ca_cert: $out/ca.pem
       ca_key: $out/ca.key

   Hallpass refuses to start if ca.key is readable by group or others. The key must
   belong to the user Hallpass runs as, mode 0600, for example:
     chown hallpass: $out/ca.key
   This folder is private (mode 0700): if Hallpass runs as its own user, install ca.pem
   and ca.key where that user can read them (certs/README.md shows how) and use those paths.

2. Install on clients (Chromebooks, Windows, macOS/iOS, Firefox): $out/root.pem
   ONLY the root certificate. Never copy a .key file to a client or a file share.
   Guides: certs/guides/ (chromebooks.md, windows.md, macos-ios.md, firefox.md).

3. Root certificate SHA-256 fingerprint (compare it on a client after installing):

     $fingerprint
EOF
if [[ $intermediate -eq 1 ]]; then
  cat <<EOF

4. Hallpass needs only ca.pem and ca.key (the intermediate). Move root.key OFFLINE now
   (an encrypted USB stick in the district safe, or a password manager vault) and delete
   it from this machine. You need it again only to sign a new intermediate (in $int_days
   days, or sooner if ca.key leaks). Anyone holding root.key can impersonate any website
   to every district device.
EOF
else
  cat <<EOF

4. Without an intermediate, ca.key IS the root key: anyone holding it can impersonate any
   website to every district device. Keep a backup offline, and never copy it anywhere
   else. Consider re-running with --intermediate so the root key can stay offline.
EOF
fi
