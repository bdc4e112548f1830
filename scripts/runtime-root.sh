#!/usr/bin/env bash
# scripts/runtime-root.sh BINARY OUT: the runtime image's files, made in the Dockerfile's build stage and copied
# into an empty (`scratch`) image: OUT/root is the image's root, OUT/volume the empty directory that becomes
# /var/lib/spacehook (copied on its own with --chown=10001:10001 onto a path that does not exist yet: Docker gives a
# directory it creates the --chown owner, but leaves one that already exists as it is). What serve needs and
# nothing else:
#   /usr/local/bin/spacehook                  the binary
#   every shared library it links             at the paths the dynamic loader looks for them (ldd's answer)
#   the dynamic loader                        /lib64/ld-linux-x86-64.so.2 (the binary's PT_INTERP)
#   /etc/ssl/certs/ca-certificates.crt        the CA bundle, for https to DocSpace and SMTPS (SSL_CERT_FILE)
#   /etc/passwd, /etc/group                   root and spacehook (uid/gid 10001), so the image's USER resolves
#   /etc/nsswitch.conf                        hosts from /etc/hosts, then DNS (glibc's built-in files and dns)
#   /etc/spacehook, /tmp                      the config directory, a sticky /tmp
# No shell, no package manager, no libc tools: the image's HEALTHCHECK is `spacehook healthcheck`.
set -euo pipefail
bin=$1 out=$2/root volume=$2/volume
[[ -x $bin ]] || { echo "runtime-root: $bin is not an executable" >&2; exit 1; }
bundle=/etc/ssl/certs/ca-certificates.crt
[[ -s $bundle ]] || { echo "runtime-root: no CA bundle at $bundle (install ca-certificates)" >&2; exit 1; }
rm -rf "$2"
mkdir -p "$out"/usr/local/bin "$out"/etc/ssl/certs "$out"/etc/spacehook "$out"/tmp "$volume"
chmod 0750 "$volume"
install -m 0755 "$bin" "$out/usr/local/bin/spacehook"
# ldd prints "name => /path (addr)" for each library and "/path (addr)" for the loader; -L copies what a symlink
# names under the symlink's own path, which is the path the loader opens.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
    cp -L --parents "$lib" "$out"
done
missing=$(ldd "$bin" | grep 'not found' || true)
[[ -z $missing ]] || { echo "runtime-root: unresolved libraries: $missing" >&2; exit 1; }
install -m 0644 "$bundle" "$out$bundle"
printf 'root:x:0:0:root:/root:/sbin/nologin\nspacehook:x:10001:10001:spacehook:/var/lib/spacehook:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nspacehook:x:10001:\n' >"$out/etc/group"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
chmod 1777 "$out/tmp"
# The image runs the binary from this root: check that the loader finds every library there.
if [[ $(id -u) == 0 ]]; then
    interp=$(readelf -l "$bin" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
    chroot "$out" "${interp:-/lib64/ld-linux-x86-64.so.2}" --list /usr/local/bin/spacehook >/dev/null ||
        { echo "runtime-root: the binary's libraries do not resolve inside $out" >&2; exit 1; }
fi
echo "runtime-root: $(du -sh --apparent-size "$out" | cut -f1) in $out ($(find "$out" -name '*.so*' | wc -l) shared objects)"
