#!/bin/sh
# Release build of the sluice binary.
#
#   deploy/build-release.sh [VERSION] [OUT_DIR]
#
# VERSION defaults to `git describe --tags --always --dirty` (or "devel"
# outside a git checkout); OUT_DIR to dist/. Builds, for each of
# linux/amd64, linux/arm64, darwin/amd64, darwin/arm64 (override with
# PLATFORMS="linux/amd64 darwin/arm64"):
#
#   OUT_DIR/sluice-VERSION-OS-ARCH/sluice     static (CGO_ENABLED=0), -trimpath,
#                                             version stamped with -ldflags -X
#   OUT_DIR/sluice-VERSION-OS-ARCH.tar.gz     the binary, LICENSE and README.md
#   OUT_DIR/SHA256SUMS                        sha256 of every archive
#
# `sluice version` (and GET /v1/version, sluice_build_info) then report
# VERSION; the VCS revision comes from the Go toolchain's build info.
set -eu

cd "$(dirname "$0")/.."
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
out=${2:-dist}
platforms=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"}
pkg=github.com/sluicehq/sluice/platform/buildinfo

case $version in
*[!A-Za-z0-9._+-]*) echo "build-release: version '$version' has characters other than A-Z a-z 0-9 . _ + -" >&2; exit 2 ;;
esac

mkdir -p "$out"
rm -f "$out/SHA256SUMS"
for p in $platforms; do
	os=${p%/*}
	arch=${p#*/}
	name="sluice-$version-$os-$arch"
	dir="$out/$name"
	rm -rf "$dir"
	mkdir -p "$dir"
	echo "build-release: $name" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -X $pkg.version=$version" \
		-o "$dir/sluice" ./cmd/sluice
	cp LICENSE README.md "$dir/"
	tar -C "$out" -czf "$out/$name.tar.gz" "$name"
	(cd "$out" && sha256sum "$name.tar.gz" >> SHA256SUMS)
done
echo "build-release: $out/SHA256SUMS" >&2
