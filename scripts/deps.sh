#!/bin/sh
# Install the Debian packages this project builds, tests and benchmarks with,
# the ones that are missing only. Debian 12, as root. Every program the
# tests and the demo execute must come from one of these (or a package they
# depend on, or one every Debian system has): scripts/check_deps.py checks
# it in CI. git and dpkg-dev: meson runs git for the version string and
# dpkg-architecture for the library folder.
set -eu
PKGS="meson ninja-build pkg-config gcc libc6-dev
liburing-dev libslirp-dev libglib2.0-dev libcap-dev libseccomp-dev libjsmn-dev
libmnl-dev libnftnl-dev libnetfilter-queue-dev
libcriterion-dev go-md2man clang-14 libclang-rt-14-dev
python3 iproute2 nftables iptables util-linux iputils-ping procps valgrind
iperf3 slirp4netns rootlesskit passt gnuplot-nox
podman runc busybox-static uidmap catatonit tar
git dpkg-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing </dev/null
fi
