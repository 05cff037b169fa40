#!/usr/bin/env bash
# Start (or restart) the CARM partner SFTP server: a private OpenSSH sshd using internal-sftp.
#
#   sftp_inbox/start.sh [options] [STATE_DIR [PORT]]      (as root; defaults: var/sftp, 2222)
#
# Options:
#   --registry FILE        partner registry CSV (default: fixtures/partners.csv)
#   --engine-user NAME     the engine's service account (default: carm-engine)
#   --engine-pubkey FILE   the engine's public key; default: <state>/engine_id_ed25519(.pub), made if missing
#   --foreground           run sshd in the foreground (logs on stderr) instead of in the background
#
# Idempotent: every run re-reads the registry, creates or updates the Unix accounts, folders and
# authorized keys, regenerates the config and restarts the listener (open sessions are kept).
# A registry with any invalid row is refused before anything changes.  See sftp_inbox/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

die() { echo "start.sh: $*" >&2; exit 1; }
quiet() { local out; out=$("$@" 2>&1) || die "$* failed: $out"; }   # run; show output only on failure
note() { echo "start.sh: $*" >&2; }

registry=$REPO/fixtures/partners.csv
engine_user=carm-engine
engine_pubkey=
foreground=0
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --registry) registry=${2:?--registry needs a file}; shift 2 ;;
    --engine-user) engine_user=${2:?--engine-user needs a name}; shift 2 ;;
    --engine-pubkey) engine_pubkey=${2:?--engine-pubkey needs a file}; shift 2 ;;
    --foreground) foreground=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    --) shift; positional+=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -le 2 ] || die "too many arguments: ${positional[*]}"
state=${positional[0]:-$REPO/var/sftp}
port=${positional[1]:-2222}

PARTNER_GROUP=carm-partners
MARK="carm-sftp"   # GECOS prefix of the accounts this script owns; it never touches any other account
SSHD=/usr/sbin/sshd

# --- preconditions ------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates Unix accounts and chroot folders)"
[ -x "$SSHD" ] || die "$SSHD not found: apt-get install -y openssh-server"
for tool in ssh-keygen useradd usermod groupadd getent; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "bad port $port"
[[ "$engine_user" =~ ^[a-z][a-z0-9_-]{0,31}$ ]] || die "bad engine user name $engine_user"
[ -r "$registry" ] || die "registry $registry not readable"
NOLOGIN=$(command -v nologin || echo /usr/sbin/nologin)
[ -x "$NOLOGIN" ] || die "no nologin shell"

mkdir -p "$state"
state=$(cd "$state" && pwd -P)
[[ "$state" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "state dir $state: only A-Z a-z 0-9 / . _ - allowed (it goes into sshd_config)"
partners_root=$state/partners
pidfile=$state/sshd.pid
config=$state/sshd_config
log=$state/sshd.log

# ChrootDirectory: every component of the path must be root-owned and not writable by group or
# others; partner accounts must also be able to traverse down to <state>/authorized_keys.
check_path() {
  local path=/ part
  local -a parts
  IFS=/ read -r -a parts <<< "${state#/}"
  for part in "" "${parts[@]}"; do
    [ -n "$part" ] && path=${path%/}/$part
    local owner mode
    owner=$(stat -c %u "$path"); mode=$(stat -c %a "$path")
    [ "$owner" -eq 0 ] || die "chroot path component $path is not owned by root (sshd refuses it); choose another state dir"
    (( (8#$mode & 8#022) == 0 )) || die "chroot path component $path is writable by group or others (mode $mode; sshd refuses it, e.g. /tmp); choose another state dir"
    (( (8#$mode & 8#001) != 0 )) || die "path component $path is not searchable by others (mode $mode); the accounts could not read their authorized keys"
  done
}
chown root:root "$state"
chmod 0755 "$state"
check_path

# --- the registry ---------------------------------------------------------------------------------
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON=$REPO/.venv/bin/python; else PYTHON=$(command -v python3 || true); fi
fi
[ -n "$PYTHON" ] || die "python3 needed to read the registry"
set +e
accounts=$("$PYTHON" -I -c 'import sys; sys.path.insert(0, sys.argv[1]); from transport.partners import main; sys.exit(main(sys.argv[2:]))' "$REPO" accounts "$registry")
rc=$?
set -e
[ "$rc" -eq 0 ] || die "registry $registry has problems (above); nothing changed"

# --- accounts -------------------------------------------------------------------------------------
owned() {  # owned USER: the account exists and carries our GECOS mark
  local gecos
  gecos=$(getent passwd "$1" | cut -d: -f5)
  [[ "$gecos" == "$MARK "* ]]
}

ensure_account() {  # ensure_account USER COMMENT [SUPPLEMENTARY_GROUP]
  local user=$1 comment=$2 extra=${3:-}
  if getent passwd "$user" >/dev/null; then
    owned "$user" || die "account $user exists and is not a $MARK account; rename the partner's sftp_user"
    quiet usermod -g "$user" -d / -s "$NOLOGIN" -c "$comment" "$user"
  else
    getent group "$user" >/dev/null && die "group $user exists without the account; not ours, refusing"
    quiet useradd --user-group --no-create-home --home-dir / --shell "$NOLOGIN" --comment "$comment" "$user"
  fi
  [ -z "$extra" ] || quiet usermod -a -G "$extra" "$user"
  # '*': no password can match; unlike useradd's '!' it is not "locked", which sshd (UsePAM no)
  # would treat as a refusal even for key logins.
  quiet usermod -p '*' "$user"
}

getent group "$PARTNER_GROUP" >/dev/null || quiet groupadd --system "$PARTNER_GROUP"
ensure_account "$engine_user" "$MARK engine"
[[ " $(id -nG "$engine_user") " != *" $PARTNER_GROUP "* ]] || die "$engine_user must not be in $PARTNER_GROUP"

# --- keys -----------------------------------------------------------------------------------------
[ -s "$state/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "carm-sftp-host" -f "$state/ssh_host_ed25519_key"
chmod 0600 "$state/ssh_host_ed25519_key"
[ -s "$state/ssh_host_ed25519_key.pub" ] || ssh-keygen -y -f "$state/ssh_host_ed25519_key" > "$state/ssh_host_ed25519_key.pub"
if [ -z "$engine_pubkey" ]; then
  [ -s "$state/engine_id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$engine_user" -f "$state/engine_id_ed25519"
  chmod 0600 "$state/engine_id_ed25519"
  engine_pubkey=$state/engine_id_ed25519.pub
fi
[ -r "$engine_pubkey" ] || die "engine public key $engine_pubkey not readable"
{
  host_key=$(cut -d' ' -f1,2 "$state/ssh_host_ed25519_key.pub")
  echo "[127.0.0.1]:$port $host_key"
  echo "[localhost]:$port $host_key"
} > "$state/known_hosts.new"
mv -f "$state/known_hosts.new" "$state/known_hosts"
chmod 0644 "$state/known_hosts"

keys_dir=$state/authorized_keys
install -d -o root -g root -m 0755 "$keys_dir"
write_keys() {  # write_keys USER < keys (one per line): root-owned, 0644, every key restricted
  local file=$keys_dir/$1 tmp
  tmp=$(mktemp "$keys_dir/.$1.XXXXXX")
  local key count=0
  while IFS= read -r key; do
    [ -n "$key" ] || continue
    printf 'restrict %s\n' "$key" >> "$tmp"
    count=$((count + 1))
  done
  if [ "$count" -eq 0 ]; then
    rm -f "$tmp" "$file"   # no key: no login
    return
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
}
{ grep -v '^[[:space:]]*\(#\|$\)' "$engine_pubkey" || true; } | write_keys "$engine_user"
[ -s "$keys_dir/$engine_user" ] || die "engine public key $engine_pubkey holds no key"

# --- partners: account + chroot folder tree -------------------------------------------------------
install -d -o root -g root -m 0755 "$partners_root"
users=()
declare -A in_registry=()
while IFS=$'\t' read -r user partner_id role keys; do
  [ -n "$user" ] || continue
  users+=("$user")
  in_registry[$user]=1
  ensure_account "$user" "$MARK partner $partner_id ($role)" "$PARTNER_GROUP"
  quiet usermod -a -G "$user" "$engine_user"   # the engine reads and moves what the partner uploads
  home=$partners_root/$user
  install -d -o root -g root -m 0755 "$home"                 # the chroot: root's, read-only
  install -d -o "$engine_user" -g "$user" -m 3770 "$home/inbox"      # partner writes; sticky: only its own files
  install -d -o "$engine_user" -g "$user" -m 0700 "$home/inbox/.claimed"
  install -d -o "$engine_user" -g "$user" -m 2750 "$home/outbox"     # engine writes, partner reads
  install -d -o "$engine_user" -g "$user" -m 0700 "$home/processed"  # engine's bookkeeping, closed to the partner
  install -d -o "$engine_user" -g "$user" -m 0700 "$home/quarantine"
  tr ';' '\n' <<< "$keys" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | write_keys "$user"
  [ -s "$keys_dir/$user" ] || note "partner $partner_id ($user) has no public key: account made, no login possible"
done <<< "$accounts"

# Partners dropped from the registry since the last run: keys removed (no login), account and folders kept.
if [ -f "$state/accounts" ]; then
  while read -r kind user; do
    [ "$kind" = partner ] || continue
    [ -z "${in_registry[$user]:-}" ] || continue
    rm -f "$keys_dir/$user"
    note "$user is no longer in the registry: its keys are removed; account and folders kept"
  done < "$state/accounts"
fi
{
  echo "engine $engine_user"
  for user in "${users[@]}"; do echo "partner $user"; done
  if [ -f "$state/accounts" ]; then grep '^partner ' "$state/accounts" || true; fi
} | awk '!seen[$0]++' > "$state/accounts.new"
mv -f "$state/accounts.new" "$state/accounts"
echo "$port" > "$state/port"

# --- config ---------------------------------------------------------------------------------------
sed -e "s|@PORT@|$port|g" -e "s|@STATE@|$state|g" -e "s|@PARTNERS@|$partners_root|g" \
    -e "s|@PARTNER_GROUP@|$PARTNER_GROUP|g" -e "s|@ENGINE_USER@|$engine_user|g" \
    "$HERE/sshd_config.template" > "$config.new"
chmod 0644 "$config.new"
# Privilege separation directory (Debian creates it from the systemd unit, which we do not use).
install -d -o root -g root -m 0755 /run/sshd

"$SSHD" -t -f "$config.new" || die "generated $config.new is not a valid sshd config"
mv -f "$config.new" "$config"

# --- (re)start ------------------------------------------------------------------------------------
"$HERE/stop.sh" --keep-sessions "$state" >/dev/null

if [ "$foreground" -eq 1 ]; then
  note "sshd on 127.0.0.1:$port in the foreground (pid file $pidfile)"
  exec "$SSHD" -D -e -f "$config"
fi

rm -f "$pidfile"
: >> "$log"
"$SSHD" -f "$config" -E "$log" || die "sshd did not start; $log says: $(tail -n 5 "$log")"
# sshd writes the pid file once it listens; then the port must answer with an SSH banner.
for _ in $(seq 100); do
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    if banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 8 <&3" 2>/dev/null) \
       && [ "$banner" = "SSH-2.0-" ]; then
      echo "sftp server: pid $(cat "$pidfile"), sftp://$engine_user@127.0.0.1:$port, state $state"
      exit 0
    fi
  fi
  sleep 0.1
done
die "sshd is not answering on 127.0.0.1:$port; $log says: $(tail -n 5 "$log")"
