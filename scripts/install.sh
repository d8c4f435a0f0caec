#!/bin/sh
# Installs the shopunlink release binary for this machine.
#
#   curl -LsSf https://github.com/shopunlink/shopunlink/releases/latest/download/install.sh | sh
#
# Picks the archive for this OS and CPU, downloads it and its .sha256 from the GitHub release,
# refuses it unless the SHA-256 matches, and puts `shopunlink` in ~/.local/bin. Nothing runs as
# root and nothing outside that directory is touched.
#
# Environment:
#   SHOPUNLINK_VERSION      a release tag such as v0.2.0 (default: the latest release)
#   SHOPUNLINK_INSTALL_DIR  where the binary goes (default: ~/.local/bin)
#   SHOPUNLINK_DOWNLOAD_URL the directory holding the release's files, for a mirror
#                           (https://, or http:// to 127.0.0.1/localhost only; default: GitHub)
set -eu

REPO_URL="https://github.com/shopunlink/shopunlink"

say() { printf 'shopunlink installer: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The release target for this machine: the names scripts/package gives the archives.
detect_target() {
    os=$(uname -s)
    arch=$(uname -m)
    case "$arch" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "no release binary for the $arch CPU; build it with: cargo install --locked shopunlink" ;;
    esac
    case "$os" in
        Linux) echo "$arch-unknown-linux-musl" ;; # static: any distribution, glibc or not
        Darwin) echo "$arch-apple-darwin" ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            die "on Windows download shopunlink-x86_64-pc-windows-msvc.zip from $REPO_URL/releases" ;;
        *) die "no release binary for $os; build it with: cargo install --locked shopunlink" ;;
    esac
}

download() { # URL FILE
    case "$1" in
        https://*) secure=1 ;;
        http://127.0.0.1[:/]* | http://localhost[:/]*) secure=0 ;; # a local mirror, for tests
        *) die "refusing to download over plain http: $1" ;;
    esac
    if command -v curl >/dev/null 2>&1; then
        if [ "$secure" = 1 ]; then
            curl --proto '=https' --tlsv1.2 -fsSL -o "$2" "$1"
        else
            curl -fsSL -o "$2" "$1"
        fi
    elif command -v wget >/dev/null 2>&1; then
        if [ "$secure" = 1 ]; then
            wget -q --https-only -O "$2" "$1"
        else
            wget -q -O "$2" "$1"
        fi
    else
        die "needs curl or wget"
    fi || die "cannot download $1"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 "$1" | sed 's/^.*= *//'
    else
        die "needs sha256sum, shasum or openssl to check the download"
    fi
}

main() {
    target=$(detect_target)
    version=${SHOPUNLINK_VERSION:-}
    if [ -n "${SHOPUNLINK_DOWNLOAD_URL:-}" ]; then
        base=${SHOPUNLINK_DOWNLOAD_URL%/}
    elif [ -n "$version" ]; then
        base="$REPO_URL/releases/download/$version"
    else
        base="$REPO_URL/releases/latest/download"
    fi
    dir=${SHOPUNLINK_INSTALL_DIR:-${HOME:?HOME is not set}/.local/bin}
    archive="shopunlink-$target.tar.gz"

    tmp=$(mktemp -d 2>/dev/null || mktemp -d -t shopunlink)
    trap 'rm -rf "$tmp"' EXIT
    say "downloading $base/$archive"
    download "$base/$archive" "$tmp/$archive"
    download "$base/$archive.sha256" "$tmp/$archive.sha256"

    expected=$(cut -d ' ' -f 1 <"$tmp/$archive.sha256" | tr 'A-F' 'a-f')
    actual=$(sha256_of "$tmp/$archive")
    if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
        die "checksum mismatch for $archive (expected ${expected:-nothing}, got $actual): not installed"
    fi
    say "checksum ok ($actual)"

    tar -xzf "$tmp/$archive" -C "$tmp"
    binary="$tmp/shopunlink-$target/shopunlink"
    [ -f "$binary" ] || die "$archive does not hold shopunlink-$target/shopunlink"

    mkdir -p "$dir"
    # Copy then rename, so a running shopunlink is replaced, never half-written.
    cp "$binary" "$dir/.shopunlink.$$"
    chmod 755 "$dir/.shopunlink.$$"
    mv -f "$dir/.shopunlink.$$" "$dir/shopunlink"
    say "installed $("$dir/shopunlink" --version 2>/dev/null || echo shopunlink) to $dir/shopunlink"
    case ":$PATH:" in
        *":$dir:"*) ;;
        *) say "$dir is not on your PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" ;;
    esac
}

main "$@"
