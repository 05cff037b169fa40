#!/usr/bin/env bash
# Stop the CARM partner SFTP server started by sftp_inbox/start.sh.
#
#   sftp_inbox/stop.sh [--keep-sessions] [--remove-users] [STATE_DIR]      (as root; default: var/sftp)
#
#   --keep-sessions   stop only the listener; open SFTP sessions finish on their own (start.sh uses it to restart)
#   --remove-users    afterwards delete the Unix accounts and groups start.sh made for this state dir
#                     (listed in <state>/accounts, only those carrying the carm-sftp mark), the engine
#                     account included: do not use it if another state dir shares that engine account.
#                     Folders and files stay.
#
# Only the sshd whose pid is in <state>/sshd.pid and whose command line names <state>/sshd_config is
# signalled. Stopping a server that is not running is not an error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
die() { echo "stop.sh: $*" >&2; exit 1; }

keep_sessions=0
remove_users=0
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-sessions) keep_sessions=1; shift ;;
    --remove-users) remove_users=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -le 1 ] || die "too many arguments: ${positional[*]}"
state=${positional[0]:-$REPO/var/sftp}
[ -d "$state" ] || { echo "stop.sh: no state dir $state: nothing to stop" >&2; exit 0; }
state=$(cd "$state" && pwd -P)
pidfile=$state/sshd.pid

is_our_sshd() {  # is_our_sshd PID: alive, an sshd, started with this state dir's config
  local pid=$1 exe
  [ -r "/proc/$pid/cmdline" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ "$exe" == */sshd* ]] || return 1
  # sshd rewrites its process title ("sshd: /usr/sbin/sshd -f CONFIG ... [listener] ..."): match either form.
  local cmdline
  cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline")
  [[ " $cmdline " == *" -f $state/sshd_config "* ]]
}

descendants() {  # descendants PID: every process below PID (the per-connection sshd processes)
  local parent=$1 stat stat_line pid rest ppid
  for stat in /proc/[0-9]*/stat; do
    { read -r stat_line < "$stat"; } 2>/dev/null || continue
    pid=${stat_line%% *}
    rest=${stat_line##*) }          # after "(comm) ": state ppid ...
    ppid=$(cut -d' ' -f2 <<< "$rest")
    if [ "$ppid" = "$parent" ]; then
      descendants "$pid"
      echo "$pid"
    fi
  done
}

stopped=0
if [ -s "$pidfile" ]; then
  pid=$(cat "$pidfile")
  if [[ "$pid" =~ ^[0-9]+$ ]] && is_our_sshd "$pid"; then
    sessions=()
    [ "$keep_sessions" -eq 1 ] || mapfile -t sessions < <(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for session in "${sessions[@]}"; do kill -TERM "$session" 2>/dev/null || true; done
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    for session in "${sessions[@]}"; do
      for _ in $(seq 50); do kill -0 "$session" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$session" 2>/dev/null || true
    done
    stopped=1
  fi
  rm -f "$pidfile"
fi
[ "$stopped" -eq 1 ] && echo "sftp server stopped (state $state)" || echo "sftp server was not running (state $state)"

if [ "$remove_users" -eq 1 ] && [ -f "$state/accounts" ]; then
  [ "$(id -u)" -eq 0 ] || die "--remove-users must run as root"
  while read -r kind user; do
    gecos=$(getent passwd "$user" | cut -d: -f5 || true)
    if [[ "$gecos" == "carm-sftp "* ]]; then
      userdel "$user" || die "could not delete account $user"
    fi
    if getent group "$user" >/dev/null && [ -z "$(getent passwd "$user" || true)" ]; then
      groupdel "$user" 2>/dev/null || true
    fi
  done < "$state/accounts"
  members=$(getent group carm-partners | cut -d: -f4 || true)
  if getent group carm-partners >/dev/null && [ -z "$members" ]; then
    groupdel carm-partners 2>/dev/null || true
  fi
  rm -f "$state/accounts"
  echo "accounts removed"
fi
