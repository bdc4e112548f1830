#!/usr/bin/env bash
# Tests the Dockerfile without a Docker engine: it reads the real Dockerfile, turns each instruction into a step,
# and runs the steps in debootstrapped Debian bookworm roots (one per stage) with chroot. Then it checks the last
# stage as a container would run it: `spacehook --version`, `check` with deploy/spacehook.env.example, and `serve`
# as the image's USER, in a private network namespace, on a read-only copy of the root with only the VOLUME
# writable, probed by the image's own HEALTHCHECK command; SIGTERM must drain and exit 0. It reports the runtime
# root's size (uncompressed and gzip-compressed) as the image-size estimate, and the time of each step.
#
# Slow (a debootstrap, the build packages and a full release build: about 13 minutes on 2 cores), so it is not part
# of the unit tests. Needs root (debootstrap, chroot, mount, unshare) and Debian's package mirror; --static does not.
#
#   scripts/test-dockerfile.sh                # everything
#   scripts/test-dockerfile.sh --static       # only the fast checks of the Dockerfile and deploy/ files
#   scripts/test-dockerfile.sh --host         # no debootstrap: run the build stage's RUN lines on this host in a
#                                             # throwaway dir, skip the runtime stage's RUN lines (their packages
#                                             # are looked up and sized instead) and run the binary with host libs
# Options: --workdir DIR (default /var/tmp/spacehook-dockerfile-test, wiped first), --keep (leave the roots),
#          --mirror URL (default: the Debian mirror in this host's apt sources), --dockerfile FILE.
# Exit status 0 when every check passed. The last line reads "test-dockerfile: N passed, N failed".
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE=$REPO/Dockerfile
WORK=/var/tmp/spacehook-dockerfile-test
CACHE=/var/cache/spacehook-dockerfile-test
MODE=chroot
KEEP=0
MIRROR=""
SUITE=bookworm

while (($#)); do
  case $1 in
    --static) MODE=static ;;
    --host) MODE=host ;;
    --keep) KEEP=1 ;;
    --workdir) WORK=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    --dockerfile) DOCKERFILE=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-dockerfile: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# ---------------------------------------------------------------------------------------------------------------
# Reporting

PASSED=0
FAILED=0
T0=$SECONDS
TIMINGS=()
say() { printf '[%4ds] %s\n' $((SECONDS - T0)) "$*"; }
pass() { PASSED=$((PASSED + 1)); say "PASS $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL $*"; }
die() { say "ERROR $*"; FAILED=$((FAILED + 1)); finish; }
check() { # check "what" command...: pass when the command succeeds
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
timed() { # timed "label" command...: runs it, records the time
  local label=$1 start=$SECONDS rc=0; shift
  "$@" || rc=$?
  TIMINGS+=("$(printf '%5ds  %s%s' $((SECONDS - start)) "$label" "$( ((rc)) && echo " (exit $rc)")")")
  return $rc
}
finish() {
  trap - EXIT
  cleanup
  if ((${#TIMINGS[@]})); then
    echo
    echo "Timings:"
    printf '  %s\n' "${TIMINGS[@]}"
  fi
  if [[ -n ${SIZE_REPORT:-} ]]; then
    echo
    echo "$SIZE_REPORT"
  fi
  echo
  say "done in $((SECONDS - T0)) s (mode: $MODE)"
  echo "test-dockerfile: $PASSED passed, $FAILED failed"
  ((FAILED == 0)) && exit 0 || exit 1
}

MOUNTS=()
cleanup() {
  local m
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    m=${MOUNTS[i]}
    mountpoint -q "$m" 2>/dev/null && umount -l "$m" 2>/dev/null || true
  done
  MOUNTS=()
  if [[ $MODE == static ]]; then rm -rf "$WORK"
  elif ((KEEP == 0)) && [[ -d $WORK/stages ]]; then wipe_work; fi
}

# Removes the work dir, but only one this script made, and never while something is mounted below it.
wipe_work() {
  [[ -e $WORK ]] || return 0
  WORK=$(realpath "$WORK")
  if [[ ! -e $WORK/.spacehook-dockerfile-test && -n $(ls -A "$WORK") ]]; then
    echo "test-dockerfile: $WORK is not empty and not this script's work dir; refusing to wipe it" >&2
    exit 2
  fi
  if grep -q " $WORK/" /proc/mounts; then
    echo "test-dockerfile: something is still mounted under $WORK; not removing it" >&2
    return 0
  fi
  rm -rf "$WORK"
}
trap 'say "interrupted"; FAILED=$((FAILED + 1)); finish' INT TERM
trap 'rc=$?; ((rc)) && { say "ERROR unexpected exit $rc (last command: $BASH_COMMAND)"; FAILED=$((FAILED + 1)); }; finish' EXIT

# ---------------------------------------------------------------------------------------------------------------
# The Dockerfile, as a plan of shell function calls (one per instruction, in order). Anything this test does not
# understand is an error, so the Dockerfile cannot drift out of what is tested.

make_plan() {
  python3 - "$1" <<'PY'
import json, shlex, sys

path = sys.argv[1]
q = lambda *a: " ".join(shlex.quote(str(x)) for x in a)
out = []

def fail(line, msg):
    sys.exit(f"test-dockerfile: {path}:{line}: {msg}")

def exec_form(line, text, what):
    try:
        v = json.loads(text)
    except ValueError:
        fail(line, f"{what} must be in exec form (a JSON array)")
    if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
        fail(line, f"{what} must be a non-empty JSON array of strings")
    return v

# Join continuation lines; comment lines inside a continuation are dropped, as Docker does.
instrs, buf, start = [], "", None
for n, raw in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
    s = raw.strip()
    if s.startswith("#") or (not buf and not s):
        continue
    if start is None:
        start = n
    if raw.rstrip().endswith("\\"):
        buf += raw.rstrip()[:-1]
        continue
    buf += raw
    instrs.append((start, buf.strip()))
    buf, start = "", None
if buf:
    fail(start, "the file ends inside a continued line")

in_stage = False
for line, text in instrs:
    kw, _, rest = text.partition(" ")
    kw, rest = kw.upper(), rest.strip()
    out.append(f"at_line {line} {shlex.quote(text[:110])}")
    if kw != "FROM" and not in_stage:
        fail(line, f"{kw} before the first FROM is not supported by this test")
    if kw == "FROM":
        w = rest.split()
        if len(w) == 1: out.append(q("stage_from", w[0], ""))
        elif len(w) == 3 and w[1].upper() == "AS": out.append(q("stage_from", w[0], w[2]))
        else: fail(line, "FROM must be 'FROM image [AS name]'")
        in_stage = True
    elif kw == "WORKDIR":
        out.append(q("do_workdir", rest))
    elif kw in ("ENV", "ARG"):
        for item in shlex.split(rest):
            if "=" not in item:
                if kw == "ARG": out.append(q("do_env", item, "")); continue
                fail(line, "ENV must be NAME=value")
            k, v = item.split("=", 1)
            out.append(q("do_env", k, v))
    elif kw == "COPY":
        w = rest.split()
        frm, chown = "", ""
        while w and w[0].startswith("--"):
            if w[0].startswith("--from="): frm = w[0][7:]
            elif w[0].startswith("--chown="): chown = w[0][8:]
            else: fail(line, f"COPY option {w[0]} is not supported by this test")
            w = w[1:]
        if len(w) < 2: fail(line, "COPY needs a source and a destination")
        if any(c in x for x in w for c in "*?["): fail(line, "COPY globs are not supported by this test")
        out.append(q("do_copy", frm, chown, *w))
    elif kw == "RUN":
        if rest.startswith("--"): fail(line, "RUN options (--mount, --network, ...) are not supported by this test")
        if rest.startswith("["): out.append(q("do_run_exec", *exec_form(line, rest, "RUN")))
        else: out.append(q("do_run", rest))
    elif kw == "USER":
        out.append(q("do_user", rest))
    elif kw == "VOLUME":
        vols = exec_form(line, rest, "VOLUME") if rest.startswith("[") else rest.split()
        out.append(q("do_volume", *vols))
    elif kw == "EXPOSE":
        out.append(q("do_expose", *rest.split()))
    elif kw == "STOPSIGNAL":
        out.append(q("do_stopsignal", rest))
    elif kw == "HEALTHCHECK":
        w, opts = rest, []
        while w.startswith("--"):
            opt, _, w = w.partition(" ")
            opts.append(opt)
            w = w.strip()
        if w.upper() == "NONE": out.append(q("do_healthcheck", "NONE")); continue
        if not w.upper().startswith("CMD"): fail(line, "HEALTHCHECK must be [options] CMD [...] or NONE")
        out.append(q("do_healthcheck", ",".join(opts), *exec_form(line, w[3:].strip(), "HEALTHCHECK CMD")))
    elif kw in ("ENTRYPOINT", "CMD"):
        out.append(q("do_" + kw.lower(), *exec_form(line, rest, kw)))
    elif kw == "LABEL":
        continue
    else:
        fail(line, f"{kw} is not supported by this test")
print("\n".join(out))
PY
}

# ---------------------------------------------------------------------------------------------------------------
# Stage state

declare -A STAGE_ROOT=()     # stage name -> root directory
declare -A STAGE_FLAVOR=()   # stage name -> full | slim | scratch
STAGE_N=0
STAGE_NAME=""
ROOT=""
CWD=/
RUN_AS=0:0
ENVS=()
CUR_LINE=""
IMG_USER=""
IMG_VOLUMES=()
IMG_EXPOSE=()
IMG_STOPSIGNAL=""
IMG_HEALTH_OPTS=""
IMG_HEALTH=()
IMG_ENTRYPOINT=()
IMG_CMD=()
RUNTIME_PKGS=()
BASE_BYTES=0
BASE_GZ=0

DOCKER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

at_line() { CUR_LINE="line $1: $2"; say "Dockerfile $CUR_LINE"; }

# Resolves "name[:group]" or "uid[:gid]" against the stage root's passwd and group files.
resolve_user() {
  local spec=$1 u g uid gid
  u=${spec%%:*}
  g=""
  [[ $spec == *:* ]] && g=${spec#*:}
  if [[ $u =~ ^[0-9]+$ ]]; then uid=$u; else uid=$(awk -F: -v n="$u" '$1==n{print $3}' "$ROOT/etc/passwd"); fi
  [[ -n $uid ]] || { echo "no user $u in the stage's /etc/passwd" >&2; return 1; }
  if [[ -z $g ]]; then gid=$(awk -F: -v n="$uid" '$3==n{print $4}' "$ROOT/etc/passwd"); gid=${gid:-0}
  elif [[ $g =~ ^[0-9]+$ ]]; then gid=$g
  else gid=$(awk -F: -v n="$g" '$1==n{print $3}' "$ROOT/etc/group"); fi
  [[ -n $gid ]] || { echo "no group $g in the stage's /etc/group" >&2; return 1; }
  echo "$uid:$gid"
}

abs_in_stage() { # path relative to WORKDIR -> absolute in-image path
  if [[ $1 == /* ]]; then echo "$1"; else echo "${CWD%/}/$1"; fi
}

mount_proc() {
  [[ $MODE == chroot ]] || return 0
  mount -t proc proc "$ROOT/proc" || die "cannot mount /proc in $ROOT"
  MOUNTS+=("$ROOT/proc")
}

end_stage() {
  [[ -n $ROOT && $MODE == chroot ]] || return 0
  mountpoint -q "$ROOT/proc" && umount -l "$ROOT/proc" || true
}

stage_from() {
  local image=$1 name=$2 flavor
  end_stage
  STAGE_N=$((STAGE_N + 1))
  STAGE_NAME=${name:-$((STAGE_N - 1))}
  case $image in
    debian:bookworm) flavor=full ;;
    debian:bookworm-slim) flavor=slim ;;
    scratch) flavor=scratch ;;
    *) die "$CUR_LINE: base image $image: this test builds only debian:bookworm, debian:bookworm-slim and scratch" ;;
  esac
  ROOT=$WORK/stages/$STAGE_NAME
  STAGE_ROOT[$STAGE_NAME]=$ROOT
  STAGE_FLAVOR[$STAGE_NAME]=$flavor
  CWD=/
  RUN_AS=0:0
  ENVS=()
  IMG_USER="" IMG_VOLUMES=() IMG_EXPOSE=() IMG_STOPSIGNAL="" IMG_HEALTH_OPTS="" IMG_HEALTH=() IMG_ENTRYPOINT=() IMG_CMD=()
  BASE_NAME=$image
  if [[ $flavor == scratch ]]; then  # an empty root: what the COPY lines put there is the whole image
    mkdir -p "$ROOT/proc"
    BASE_BYTES=0 BASE_GZ=0
    [[ $MODE == chroot ]] && mount_proc
  elif [[ $MODE == chroot ]]; then
    timed "stage $STAGE_NAME: root from the $SUITE base ($flavor)" make_stage_root "$flavor" "$ROOT" ||
      die "$CUR_LINE: could not make the stage's root"
    if [[ $flavor == slim ]]; then
      BASE_BYTES=$(root_bytes "$ROOT")
      BASE_GZ=$(tar -C "$ROOT" --one-file-system -cf - . | gzip -6 | wc -c)
    fi
    mount_proc
  else
    mkdir -p "$ROOT"
  fi
  say "stage $STAGE_NAME ($image) in $ROOT"
}

do_workdir() {
  CWD=$(abs_in_stage "$1")
  mkdir -p "$ROOT$CWD"
}

do_env() { ENVS+=("$1=$2"); }

do_user() {
  IMG_USER=$1
  if [[ $MODE == host && ${STAGE_FLAVOR[$STAGE_NAME]} == slim ]]; then RUN_AS=$1; return 0; fi
  RUN_AS=$(resolve_user "$1") || die "$CUR_LINE: USER $1 does not resolve in the stage"
}

do_volume() { IMG_VOLUMES+=("$@"); }
do_expose() { IMG_EXPOSE+=("$@"); }
do_stopsignal() { IMG_STOPSIGNAL=$1; }
do_healthcheck() { IMG_HEALTH_OPTS=$1; shift; IMG_HEALTH=("$@"); }
do_entrypoint() { IMG_ENTRYPOINT=("$@"); }
do_cmd() { IMG_CMD=("$@"); }

# Context paths honour .dockerignore (plain names are matched from the context root, **/pattern anywhere).
ignore_args() {
  local p
  [[ -f $REPO/.dockerignore ]] || return 0
  while IFS= read -r p || [[ -n $p ]]; do
    p=${p%%#*}; p=${p%"${p##*[![:space:]]}"}; p=${p#"${p%%[![:space:]]*}"}
    [[ -z $p ]] && continue
    [[ $p == '!'* ]] && die ".dockerignore: exceptions (!) are not supported by this test"
    if [[ $p == '**/'* ]]; then printf '%s\0' --no-anchored "--exclude=${p#'**/'}"
    else printf '%s\0' --anchored "--exclude=./${p#/}"; fi
  done <"$REPO/.dockerignore"
}

copy_into() { # copy_into SRC_ABS DEST_ABS_IN_ROOT DEST_IS_DIR: Docker COPY semantics, owned by root
  local src=$1 dest=$2 into=$3
  if [[ -d $src ]]; then
    mkdir -p "$dest"
    local excl=()
    if [[ $src == "$REPO" || $src == "$REPO/"* ]]; then mapfile -d '' excl < <(ignore_args); fi
    tar -C "$src" --owner=0 --group=0 "${excl[@]}" -cf - . | tar -C "$dest" -xpf -
  else
    if ((into)); then mkdir -p "$dest"; dest=$dest/$(basename "$src"); else mkdir -p "$(dirname "$dest")"; fi
    cp -p "$src" "$dest"
    chown 0:0 "$dest"
  fi
}

do_copy() {
  local from=$1 owner=$2; shift 2
  local dest=${*: -1} srcs=("${@:1:$#-1}") s src into=0 target
  [[ $dest == */ || ${#srcs[@]} -gt 1 ]] && into=1
  target=$ROOT$(abs_in_stage "$dest")
  [[ -d $target ]] && into=1
  for s in "${srcs[@]}"; do
    if [[ -n $from ]]; then
      [[ -n ${STAGE_ROOT[$from]:-} ]] || die "$CUR_LINE: COPY --from=$from: no such stage"
      src=${STAGE_ROOT[$from]}/${s#/}
    else
      src=$REPO/${s#./}
      [[ $s == . || $s == ./ ]] && src=$REPO
    fi
    [[ -e $src ]] || die "$CUR_LINE: COPY source $s does not exist"
    local existed=0 e
    [[ -e $target ]] && existed=1
    copy_into "$src" "$target" "$into"
    if [[ -n $owner ]]; then  # --chown=uid:gid (numeric only): what this COPY created, as Docker does it
      [[ $owner =~ ^[0-9]+:[0-9]+$ ]] || die "$CUR_LINE: COPY --chown=$owner: only numeric uid:gid is supported by this test"
      if [[ -d $src ]] && ((existed)); then  # an existing destination keeps its owner and mode; its new entries get it
        for e in "$src"/* "$src"/.[!.]*; do [[ -e $e ]] && chown -R "$owner" "$target/$(basename "$e")"; done
      elif [[ -d $src ]]; then
        chown -R "$owner" "$target"
        chmod --reference="$src" "$target"
      elif ((into)); then chown "$owner" "$target/$(basename "$src")"
      else chown "$owner" "$target"; fi
    fi
  done
}

run_in_stage() { # run_in_stage ARGV...: one RUN, as Docker runs it (cwd WORKDIR, USER, ENV, no stdin)
  local home=/root
  [[ ${RUN_AS%%:*} == 0 ]] || home=/
  chroot --userspec="$RUN_AS" "$ROOT" /usr/bin/env -i PATH=$DOCKER_PATH HOME=$home HOSTNAME=buildkitsandbox \
    "${ENVS[@]}" /bin/sh -c 'cd "$0" || exit 1; exec "$@"' "$CWD" "$@" </dev/null
}

do_run() {
  local cmd=$1 label="RUN ${1:0:90}"
  [[ ${STAGE_FLAVOR[$STAGE_NAME]} == scratch ]] && die "$CUR_LINE: RUN in a scratch stage, which has no shell"
  if [[ $MODE == host ]]; then
    if [[ ${STAGE_FLAVOR[$STAGE_NAME]} == slim ]]; then
      say "skipped on the host (it would change this machine): $cmd"
      collect_apt_packages "$cmd"
      return 0
    fi
    timed "stage $STAGE_NAME: $label" env "${ENVS[@]}" /bin/sh -c 'cd "$0" || exit 1; exec /bin/sh -c "$1"' \
      "$ROOT$CWD" "$cmd" </dev/null || die "$CUR_LINE: RUN failed"
    return 0
  fi
  [[ ${STAGE_FLAVOR[$STAGE_NAME]} == slim ]] && collect_apt_packages "$cmd"
  timed "stage $STAGE_NAME: $label" run_in_stage /bin/sh -c "$cmd" || die "$CUR_LINE: RUN failed"
}

do_run_exec() {
  [[ ${STAGE_FLAVOR[$STAGE_NAME]} == scratch ]] && die "$CUR_LINE: RUN in a scratch stage, which has no programs"
  [[ $MODE == host ]] && die "$CUR_LINE: exec-form RUN is not supported in --host mode"
  timed "stage $STAGE_NAME: RUN $*" run_in_stage "$@" || die "$CUR_LINE: RUN failed"
}

# The package names an `apt-get install` line names (for the host mode's size estimate and the report).
collect_apt_packages() {
  local w prev="" after=0
  for w in $1; do
    if ((after)); then
      [[ $w == '&&' || $w == ';' || $w == '||' ]] && { after=0; continue; }
      [[ $w == -* || $w == '\' ]] && continue
      RUNTIME_PKGS+=("$w")
    elif [[ $w == install && ( $prev == apt-get || $prev == apt ) ]]; then after=1
    elif [[ $w != -* ]]; then prev=$w; fi
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Roots: one minbase debootstrap, shaped like Debian's official images (no apt lists, no downloaded .debs, the
# host's apt sources, no service starts); slim roots also drop docs, man pages and locales as bookworm-slim does.

host_mirror() {
  local m=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    m=$(awk '/^URIs:/{for(i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $m && -f /etc/apt/sources.list ]]; then
    m=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "$m"
}

make_base() {
  local base=$WORK/base
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --cache-dir="$CACHE" "$SUITE" "$base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log"
    return 1
  }
  rm -rf "$base"/var/cache/apt/archives/*.deb "$base"/var/lib/apt/lists/* "$base"/var/log/bootstrap.log
  # The host's Debian sources (bookworm, -updates, -security) stand in for the image's; DNS as Docker injects it.
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    cp /etc/apt/sources.list.d/debian.sources "$base/etc/apt/sources.list.d/debian.sources"
    : >"$base/etc/apt/sources.list"
  fi
  cp -L /etc/resolv.conf "$base/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$base/usr/sbin/policy-rc.d"
  chmod 0755 "$base/usr/sbin/policy-rc.d"
}

slimify() {
  local r=$1
  cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  find "$r/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete 2>/dev/null || true
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$r"/usr/share/groff/* "$r"/usr/share/info/* "$r"/usr/share/linda/* "$r"/usr/share/lintian/* \
    "$r"/usr/share/man/*
  find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
}

make_stage_root() {
  local flavor=$1 r=$2
  mkdir -p "$(dirname "$r")"
  cp -a "$WORK/base" "$r" || return 1
  if [[ $flavor == slim ]]; then slimify "$r" || return 1; fi
}

# ---------------------------------------------------------------------------------------------------------------
# Checks of the finished image (the last stage)

env_file_args() { # NAME=value lines of an env file, as env(1) arguments
  grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$1" || true
}

image_checks() {
  local bin
  say "checking the image's metadata"
  local uid=${IMG_USER%%:*}
  check "USER is set and not root ($IMG_USER)" bash -c '[[ -n $1 && $1 != 0 && $1 != root ]]' _ "$uid"
  check "ENTRYPOINT is [\"spacehook\"] (${IMG_ENTRYPOINT[*]})" test "${IMG_ENTRYPOINT[*]}" = spacehook
  check "CMD is serve --config /etc/spacehook/config.json (${IMG_CMD[*]})" \
    test "${IMG_CMD[*]}" = "serve --config /etc/spacehook/config.json"
  check "VOLUME /var/lib/spacehook (${IMG_VOLUMES[*]})" bash -c '[[ " $1 " == *" /var/lib/spacehook "* ]]' _ "${IMG_VOLUMES[*]}"
  check "EXPOSE 8080 (${IMG_EXPOSE[*]})" bash -c '[[ " $1 " == *" 8080 "* || " $1 " == *" 8080/tcp "* ]]' _ "${IMG_EXPOSE[*]}"
  check "HEALTHCHECK runs spacehook itself, no curl/wget (${IMG_HEALTH[*]})" \
    test "${IMG_HEALTH[0]:-}" = spacehook
  check "HEALTHCHECK has a --timeout ($IMG_HEALTH_OPTS)" bash -c '[[ $1 == *--timeout=* ]]' _ "$IMG_HEALTH_OPTS"
  check "STOPSIGNAL is SIGTERM or unset ($IMG_STOPSIGNAL)" bash -c '[[ -z $1 || $1 == SIGTERM || $1 == 15 ]]' _ "$IMG_STOPSIGNAL"

  bin=$ROOT/usr/local/bin/spacehook
  check "the binary is at /usr/local/bin/spacehook (on PATH for ENTRYPOINT)" test -x "$bin"
  if command -v readelf >/dev/null; then
    check "the binary is stripped (no .symtab)" bash -c '! readelf -S "$1" | grep -q "\.symtab"' _ "$bin"
  fi
  say "binary: $(du -k "$bin" | cut -f1) KiB"
}

runtime_root_checks() {
  check "no compiler, cmake or headers in the runtime root" \
    bash -c '! compgen -G "$1/usr/bin/g++*" >/dev/null && [[ ! -e $1/usr/bin/cmake && ! -d $1/usr/include/boost ]]' _ "$ROOT"
  check "no curl or wget in the runtime root" bash -c '[[ ! -e $1/usr/bin/curl && ! -e $1/usr/bin/wget ]]' _ "$ROOT"
  check "apt lists cleaned" bash -c '[[ -z $(find "$1/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -not -name lock -not -name partial) ]]' _ "$ROOT"
  # The image's own dynamic loader lists what it resolves (ldd is that, and a scratch image has no ldd).
  local missing interp listed
  interp=$(readelf -l "$ROOT/usr/local/bin/spacehook" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
  interp=${interp:-/lib64/ld-linux-x86-64.so.2}
  listed=$(chroot "$ROOT" "$interp" --list /usr/local/bin/spacehook 2>&1) || listed+=$'\n'"the loader $interp failed"
  missing=$(grep -i -e 'not found' -e 'failed' <<<"$listed" || true)
  check "every shared library resolves in the runtime root ($interp --list)${missing:+: $missing}" test -z "$missing"
  say "libraries in the runtime root:"
  sed 's/^/    /' <<<"$listed"
  if [[ ${STAGE_FLAVOR[$STAGE_NAME]} == scratch ]]; then
    check "no shell and no package manager in the runtime root" \
      bash -c '[[ ! -e $1/bin/sh && ! -e $1/usr/bin/sh && ! -e $1/usr/bin/apt-get && ! -e $1/usr/bin/dpkg ]]' _ "$ROOT"
  fi
  check "CA certificates installed (for https to DocSpace)" test -s "$ROOT/etc/ssl/certs/ca-certificates.crt"
  local vol
  for vol in "${IMG_VOLUMES[@]}"; do
    check "VOLUME $vol exists, owned by the image's USER" \
      bash -c '[[ -d $1 && $(stat -c %u:%g "$1") == "$2" ]]' _ "$ROOT$vol" "$RUN_AS"
  done
}

# Runs in a private mount and network namespace (loopback only, so the config's 0.0.0.0:8080 is private to it).
# chroot mode: the root read-only with only the VOLUME writable and a tmpfs /tmp (as Kubernetes'
# readOnlyRootFilesystem with an emptyDir), entered with chroot as the image's USER. host mode: the stage folder's
# binary with this host's libraries, as the image's uid via setpriv, the config's paths moved under the folder.
write_probe() {
  cat >"$WORK/probe.sh" <<'PROBE'
#!/usr/bin/env bash
set -uo pipefail
mode=$1 root=$2 ro=$3 user=$4 envfile=$5 vol=$6 health=$7 entry=$8 cmd=$9
IFS=$'\x1f' read -r -a HEALTH <<<"$health"
IFS=$'\x1f' read -r -a ENTRY <<<"$entry"
IFS=$'\x1f' read -r -a CMD <<<"$cmd"
ok=0 bad=0
res() { if [[ $1 == 0 ]]; then echo "PROBE-PASS $2"; ok=$((ok + 1)); else echo "PROBE-FAIL $2"; bad=$((bad + 1)); fi; }
ip link set lo up
mapfile -t ENV < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$envfile")
# Point the peers at closed loopback ports: nothing can leave this namespace, and nothing waits on DNS.
ENV+=(DOCSPACE_URL=http://127.0.0.1:9 SMTP_URL=smtp://127.0.0.1:9 CHAT_WEBHOOK_URL=http://127.0.0.1:9/chat)
PATHS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [[ $mode == chroot ]]; then
  mkdir -p "$ro"
  mount --bind "$root" "$ro" && mount -o remount,bind,ro "$ro"
  mount --bind "$root$vol" "$ro$vol"
  mount -t tmpfs -o mode=1777,size=64m tmpfs "$ro/tmp"
  mount -t proc proc "$ro/proc"
  if touch "$ro/etc/.probe" 2>/dev/null; then rm -f "$root/etc/.probe"; res 1 "the root is read-only"; else res 0 "the root is read-only"; fi
  # As Docker starts a process: root, WORKDIR, uid:gid, the environment and PATH lookup, and nothing of the
  # image's own (it may have no shell and no env): python3 on this host does the chroot, chdir and setuid, then execs.
  # (The PATH search is done by hand: os.execvp imports a module lazily, which is not there after the chroot.)
  IN_IMAGE=(/usr/bin/env -i PATH=$PATHS HOME="$vol" "${ENV[@]}" /usr/bin/python3 -c '
import os, sys
root, wd, uid, gid, prog = sys.argv[1:6]
os.chroot(root); os.chdir(wd); os.setgroups([]); os.setgid(int(gid)); os.setuid(int(uid))
for d in ([""] if "/" in prog else os.environ["PATH"].split(":")):
    path = d + "/" + prog if d else prog
    if os.access(path, os.X_OK): os.execv(path, sys.argv[5:])
sys.exit(f"{prog}: not found in the image")' "$ro" "$vol" "${user%%:*}" "${user#*:}")
  P=""
else
  P=$root
  sed -i "s|/var/lib/spacehook|$root/var/lib/spacehook|g" "$root/etc/spacehook/config.json"
  for i in "${!CMD[@]}"; do [[ ${CMD[i]} == /etc/* ]] && CMD[i]=$root${CMD[i]}; done
  IN_IMAGE=(setpriv --reuid="${user%%:*}" --regid="${user#*:}" --clear-groups /usr/bin/env -i
    PATH="$root/usr/local/bin:$PATHS" HOME="$root$vol" "${ENV[@]}" /bin/sh -c 'cd "$0" && exec "$@"' "$root$vol")
fi
# Every link of IN_IMAGE execs the next, so a background job's $! is serve itself.
in_image() { "${IN_IMAGE[@]}" "$@"; }

out=$(in_image "${ENTRY[@]}" --version 2>&1); rc=$?
echo "    spacehook --version: $out"
res $rc "spacehook --version runs as $user"
out=$(in_image "${ENTRY[@]}" check --config "$P/etc/spacehook/config.json" 2>&1); rc=$?
echo "$out" | head -n 12 | sed 's/^/    /'
res $rc "spacehook check accepts /etc/spacehook/config.json with deploy/spacehook.env.example"

t0=$(date +%s%N)
"${IN_IMAGE[@]}" "${ENTRY[@]}" "${CMD[@]}" >"$root$vol/.probe-serve.log" 2>&1 &
pid=$!
healthy=1
for _ in $(seq 1 100); do
  if in_image "${HEALTH[@]}" >/dev/null 2>&1; then healthy=0; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
t1=$(date +%s%N)
res $healthy "the image's HEALTHCHECK command passes against serve (healthy after $(((t1 - t0) / 1000000)) ms)"
for _ in $(seq 1 25); do
  out=$(in_image "${ENTRY[@]}" healthcheck --url http://127.0.0.1:8080/readyz 2>&1) && break
  sleep 0.2
done
res $? "GET /readyz answers 2xx ($out)"
out=$(in_image "${ENTRY[@]}" healthcheck --url http://127.0.0.1:8080/metrics 2>&1)
res $? "GET /metrics answers 2xx ($out)"
if command -v curl >/dev/null; then
  body='{"event":{"id":4242,"trigger":"file.uploaded","createOn":"2025-01-01T00:00:00Z","createBy":"00000000-0000-0000-0000-000000000001"},"payload":{"id":7,"title":"probe.docx","folderId":1,"rootFolderId":1},"webhook":{"id":1,"name":"probe","triggers":1}}'
  secret=$(printf '%s\n' "${ENV[@]}" | sed -n 's/^DOCSPACE_WEBHOOK_SECRET=//p' | tail -n 1)
  sig=$(printf '%s' "$body" | in_image "${ENTRY[@]}" sign --secret "$secret" - 2>/dev/null)
  got=$(curl -s -m 5 -H "content-type: application/json" -H "x-docspace-signature-256: $sig" \
    --data-binary "$body" http://127.0.0.1:8080/docspace/webhook)
  [[ $got == *accepted* ]]
  res $? "a signed delivery is accepted (committed to the database on the volume): $got"
else
  echo "    (no curl on this host: the signed-delivery probe is skipped)"
fi
[[ -f $root$vol/spacehook.db && $(stat -c %u:%g "$root$vol/spacehook.db") == "$user" ]]
res $? "the database was created on the volume, owned by $user"
t2=$(date +%s%N)
kill -TERM $pid
rc=124
for _ in $(seq 1 300); do
  if ! kill -0 $pid 2>/dev/null; then wait $pid; rc=$?; break; fi
  sleep 0.1
done
t3=$(date +%s%N)
((rc == 124)) && kill -KILL $pid 2>/dev/null
res $rc "SIGTERM: serve drained and exited 0 in $(((t3 - t2) / 1000000)) ms (exit $rc)"
echo "    serve's log (last lines):"
tail -n 12 "$root$vol/.probe-serve.log" | cut -c1-200 | sed 's/^/      /'
rm -f "$root$vol/.probe-serve.log"
echo "PROBE-SUMMARY $ok $bad"
PROBE
  chmod +x "$WORK/probe.sh"
}

run_probe() {
  local root=$1 user=$2 line seen=0
  write_probe
  local j=$'\x1f' health entry cmd
  health=$(IFS=$j; echo "${IMG_HEALTH[*]}")
  entry=$(IFS=$j; echo "${IMG_ENTRYPOINT[*]}")
  cmd=$(IFS=$j; echo "${IMG_CMD[*]}")
  while IFS= read -r line; do
    case $line in
      PROBE-PASS*) pass "${line#PROBE-PASS }" ;;
      PROBE-FAIL*) fail "${line#PROBE-FAIL }" ;;
      PROBE-SUMMARY*) seen=1 ;;
      *) echo "$line" ;;
    esac
  done < <(unshare --net --mount --fork -- bash "$WORK/probe.sh" "$MODE" "$root" "$WORK/ro" "$user" \
    "$REPO/deploy/spacehook.env.example" /var/lib/spacehook "$health" "$entry" "$cmd" 2>&1)
  ((seen)) || fail "the runtime probe ran to its end"
}

size_report() {
  local final gz
  end_stage
  final=$(root_bytes "$ROOT")
  gz=$(tar -C "$ROOT" --one-file-system -cf - . | gzip -6 | wc -c)
  SIZE_REPORT=$(
    printf 'Image size estimate (the runtime root: file sizes as `docker images` adds them up, and gzip as layers are pushed):\n'
    printf '  base (%s): %6.1f MB uncompressed, %5.1f MB gzip\n' "$BASE_NAME" "$(mb "$BASE_BYTES")" "$(mb "$BASE_GZ")"
    printf '  added by the Dockerfile: %6.1f MB uncompressed, %5.1f MB gzip\n' "$(mb $((final - BASE_BYTES)))" "$(mb $((gz - BASE_GZ)))"
    printf '  whole image:             %6.1f MB uncompressed, %5.1f MB gzip (what a registry stores and a pull downloads)\n' "$(mb "$final")" "$(mb "$gz")"
  )
  pass "image size estimate: $(mb "$final") MB uncompressed, $(mb "$gz") MB compressed"
  if (($(awk -v a="$final" 'BEGIN{print (a <= 40e6)}'))); then pass "image at most 40 MB uncompressed (issue G)"
  else fail "image at most 40 MB uncompressed (issue G)"; fi
}
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}'; }
root_bytes() { du -sx --apparent-size --block-size=1 "$1" | cut -f1; }

host_size_estimate() {
  local total=0 kb p
  for p in "${RUNTIME_PKGS[@]}"; do
    kb=$(apt-cache show --no-all-versions "$p" 2>/dev/null | awk '/^Installed-Size:/{print $2; exit}' || true)
    if [[ -z $kb ]]; then fail "runtime package $p is known to apt"; continue; fi
    pass "runtime package $p is known to apt ($kb KiB installed)"
    total=$((total + kb))
  done
  local bin_kb
  bin_kb=$(du -k "$ROOT/usr/local/bin/spacehook" | cut -f1)
  SIZE_REPORT=$(printf 'Size estimate (host mode): runtime packages %s MB installed (some already in bookworm-slim) + binary %s MB on top of bookworm-slim (~77 MB uncompressed, ~29 MB gzip).' \
    "$(mb $((total * 1024)))" "$(mb $((bin_kb * 1024)))")
}

# ---------------------------------------------------------------------------------------------------------------
# Fast checks of the Dockerfile and the deploy/ files

static_checks() {
  local plan=$1
  say "static checks"
  check "the Dockerfile parses into $(grep -c '^at_line' "$plan") instructions this test understands" test -s "$plan"
  check "two stages: debian:bookworm (build) and scratch (runtime)" \
    bash -c 'grep "^stage_from" "$1" | awk "{print \$2}" | tr "\n" " " | grep -qx "debian:bookworm scratch "' _ "$plan"
  check "the build stage uses scripts/install-deps.sh and the release preset without tests" \
    bash -c 'grep -q "install-deps.sh" "$1" && grep -q "cmake --preset release -DBUILD_TESTING=OFF" "$1" && grep -q "cmake --build --preset release" "$1"' _ "$plan"
  check "the runtime root is what scripts/runtime-root.sh collects, copied from the build stage" \
    bash -c 'grep -q "runtime-root.sh" "$1" && grep -q "^do_copy build" "$1"' _ "$plan"
  check ".dockerignore keeps build/ and .git out of the context" \
    bash -c 'grep -qx build "$1" && grep -qx .git "$1"' _ "$REPO/.dockerignore"
  check "deploy/config.example.json is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$REPO/deploy/config.example.json"
  check "every \${VAR} of deploy/config.example.json is in deploy/spacehook.env.example" python3 - \
    "$REPO/deploy/config.example.json" "$REPO/deploy/spacehook.env.example" <<'PY'
import re, sys
need = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", open(sys.argv[1]).read()))
have = {l.split("=", 1)[0] for l in open(sys.argv[2]) if re.match(r"[A-Za-z_][A-Za-z0-9_]*=", l)}
missing = sorted(need - have)
if missing: print("    missing:", " ".join(missing))
sys.exit(1 if missing else 0)
PY
  if python3 -c 'import yaml' 2>/dev/null; then
    check "deploy/docker-compose.yml and deploy/k8s/*.yaml are YAML; the ConfigMap's config.json is config.example.json; the Secret names the env file's variables" \
      python3 - "$REPO/deploy" <<'PY'
import glob, json, os, re, sys, yaml
d = sys.argv[1]
ok = True
def bad(msg):
    global ok; ok = False; print("    " + msg)
docs = {}
for f in [os.path.join(d, "docker-compose.yml")] + sorted(glob.glob(os.path.join(d, "k8s", "*.yaml"))):
    for doc in yaml.safe_load_all(open(f)):
        docs.setdefault(doc.get("kind", os.path.basename(f)), doc)
cm = docs.get("ConfigMap")
if not cm or json.loads(cm["data"]["config.json"]) != json.load(open(os.path.join(d, "config.example.json"))):
    bad("deploy/k8s/configmap.yaml's config.json differs from deploy/config.example.json")
env = {l.split("=", 1)[0] for l in open(os.path.join(d, "spacehook.env.example")) if re.match(r"[A-Za-z_]\w*=", l)}
sec = set((docs.get("Secret") or {}).get("stringData", {}))
if not (env - {"SPACEHOOK_LOG_LEVEL"}) <= sec: bad(f"Secret lacks {sorted(env - sec - {'SPACEHOOK_LOG_LEVEL'})}")
dep = docs.get("Deployment") or {}
spec = dep.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
want = [(spec.get("replicas") == 1, "replicas 1"), (spec.get("strategy", {}).get("type") == "Recreate", "strategy Recreate"),
        (c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "liveness /healthz"),
        (c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "readiness /readyz"),
        (c.get("readinessProbe", {}).get("timeoutSeconds") == 5, "readiness timeoutSeconds 5"),
        (c.get("securityContext", {}).get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem"),
        (pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot"),
        (pod.get("terminationGracePeriodSeconds", 0) > 10, "terminationGracePeriodSeconds > shutdown grace")]
for good, what in want:
    if not good: bad("Deployment: " + what)
compose = docs.get("docker-compose.yml") or {}
svc = (compose.get("services") or {}).get("spacehook", {})
for k in ("env_file", "healthcheck", "stop_grace_period", "volumes"):
    if k not in svc: bad(f"docker-compose.yml: service lacks {k}")
sys.exit(0 if ok else 1)
PY
  else
    say "(python3-yaml not installed: the YAML checks are skipped)"
  fi
  if command -v systemd-analyze >/dev/null; then
    local unit=$WORK/unit/spacehook.service
    mkdir -p "$WORK/unit"
    sed 's|/usr/local/bin/spacehook|/bin/true|g' "$REPO/deploy/spacehook.service" >"$unit"
    check "deploy/spacehook.service passes systemd-analyze verify" \
      bash -c 'out=$(systemd-analyze verify "$1" 2>&1 | grep -v -e "Failed to connect" -e "Unit spacehook.service not found" -e "^$"); [[ -z $out ]] || { echo "$out" | sed "s/^/    /"; false; }' _ "$unit"
    say "systemd-analyze security: $(systemd-analyze security --offline=true "$unit" 2>/dev/null | grep -o 'Overall exposure level.*' || echo 'not available')"
  else
    say "(no systemd-analyze: the unit file check is skipped)"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Main

[[ -f $DOCKERFILE ]] || { echo "test-dockerfile: no $DOCKERFILE" >&2; exit 2; }
command -v python3 >/dev/null || { echo "test-dockerfile: needs python3 (scripts/install-deps.sh installs it)" >&2; exit 2; }
if [[ $MODE == static ]]; then
  WORK=$(mktemp -d)
else
  [[ $(id -u) == 0 ]] || { echo "test-dockerfile: needs root (debootstrap, chroot, mount, unshare); try sudo" >&2; exit 2; }
  wipe_work
fi
mkdir -p "$WORK"
touch "$WORK/.spacehook-dockerfile-test"

say "Dockerfile: $DOCKERFILE; mode: $MODE; work dir: $WORK"
PLAN=$WORK/plan.sh
make_plan "$DOCKERFILE" >"$PLAN" || die "the Dockerfile uses something this test does not understand (above)"
static_checks "$PLAN"
[[ $MODE == static ]] && finish

if [[ $MODE == chroot ]]; then
  why=""
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } \
      >"$WORK/apt.log" 2>&1 || why="debootstrap could not be installed: $(tail -n 1 "$WORK/apt.log")"
  fi
  [[ -z $MIRROR ]] && MIRROR=$(host_mirror)
  [[ -z $why && -z $MIRROR ]] && why="no Debian mirror in this host's apt sources (pass --mirror URL)"
  [[ -z $why ]] && ! unshare --net --mount true 2>/dev/null && why="unshare --net --mount is not permitted here"
  [[ -z $why ]] && ! chroot / true 2>/dev/null && why="chroot is not permitted here"
  if [[ -n $why ]]; then
    say "cannot test in debootstrapped roots: $why; falling back to --host"
    MODE=host
  else
    say "mirror: $MIRROR"
    if ! timed "debootstrap --variant=minbase $SUITE" make_base; then
      say "debootstrap failed (its log's end is above; all of it: $WORK/debootstrap.log); falling back to --host"
      MODE=host
    fi
  fi
fi

# Runs the plan: every instruction of the Dockerfile, in order.
# shellcheck disable=SC1090
source "$PLAN"
end_stage

image_checks
if [[ $MODE == chroot ]]; then
  runtime_root_checks
else
  say "host mode: the runtime stage's RUN lines were not run; the binary runs with this host's libraries"
  [[ ${STAGE_FLAVOR[$STAGE_NAME]} == scratch ]] || host_size_estimate
  mkdir -p "$ROOT/var/lib/spacehook"
  [[ $RUN_AS =~ ^[0-9]+(:[0-9]+)?$ ]] || RUN_AS=65534:65534
  [[ $RUN_AS == *:* ]] || RUN_AS=$RUN_AS:$RUN_AS
  chown "$RUN_AS" "$ROOT/var/lib/spacehook"
  chmod 0755 "$WORK" "$WORK/stages" "$ROOT"
fi
if unshare --net --mount true 2>/dev/null; then
  timed "runtime probe (version, check, serve, healthcheck, SIGTERM)" run_probe "$ROOT" "$RUN_AS" || true
else
  fail "runtime probe: unshare --net --mount is not permitted here, so serve cannot get a private port 8080"
fi
# A scratch root is the whole image in host mode too (its COPY lines ran; it has no RUN lines).
[[ $MODE == chroot || ${STAGE_FLAVOR[$STAGE_NAME]} == scratch ]] && { timed "size of the runtime root" size_report || true; }
finish
