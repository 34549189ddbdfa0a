# Sourced by test.sh and bench.sh: finds a Go toolchain >= 1.21 and sets $GO to it.
#
# Order: $GO if set, else `go` on PATH, else Debian's golang-go (installed with apt-get
# when running as root or with sudo). Debian 12's golang-go is Go 1.19, too old for
# this module (go 1.21) and unable to switch toolchains itself (GOTOOLCHAIN arrived in
# 1.21), so it is used only to download Go $AGENTLOG_GO_TOOLCHAIN (default go1.21.13)
# from the Go module proxy as the module golang.org/toolchain — the same artifact a
# newer go command fetches for GOTOOLCHAIN — into build/go-toolchain/. Nothing else is
# downloaded: no installer, no archive from any other site.
#
# Requires: bash, sed; for `go test -race`, a C compiler (gcc) because the race
# detector needs cgo.

# shellcheck shell=bash

agentlog_go_minor() { # prints the minor version of the go command $1 (21 for go1.21.13)
  "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p'
}

agentlog_find_go() { # $1: the repository's build directory
  local build="$1"
  GO="${GO:-}"
  if [ -z "$GO" ]; then
    if command -v go >/dev/null 2>&1; then
      GO=go
    elif [ -x /usr/lib/go/bin/go ]; then
      GO=/usr/lib/go/bin/go
    else
      echo "toolchain.sh: no go command; installing Debian's golang-go to bootstrap" >&2
      local sudo=""
      [ "$(id -u)" -ne 0 ] && sudo="sudo"
      $sudo apt-get update -q >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends golang-go ca-certificates >&2
      GO=go
    fi
  fi
  local minor
  minor="$(agentlog_go_minor "$GO")"
  if [ -z "$minor" ]; then
    echo "toolchain.sh: cannot run '$GO env GOVERSION'" >&2
    return 1
  fi
  if [ "$minor" -lt 21 ]; then
    local want="${AGENTLOG_GO_TOOLCHAIN:-go1.21.13}"
    local platform
    platform="$("$GO" env GOOS)-$("$GO" env GOARCH)"
    local dest="$build/go-toolchain/$want.$platform"
    if [ ! -x "$dest/bin/go" ]; then
      echo "toolchain.sh: $("$GO" env GOVERSION) is older than go1.21; fetching $want from the Go module proxy" >&2
      local dir
      dir="$(cd "$build" && GOFLAGS=-modcacherw "$GO" mod download -json "golang.org/toolchain@v0.0.1-$want.$platform" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
      if [ -z "$dir" ] || [ ! -f "$dir/bin/go" ]; then
        echo "toolchain.sh: could not download golang.org/toolchain@v0.0.1-$want.$platform" >&2
        return 1
      fi
      rm -rf "$dest.tmp" && mkdir -p "$(dirname "$dest")"
      cp -R "$dir" "$dest.tmp"
      chmod -R u+w "$dest.tmp"
      # Module zips keep no file modes; the go command sets these when it switches itself.
      chmod +x "$dest.tmp"/bin/* "$dest.tmp"/pkg/tool/*/*
      rm -rf "$dest" && mv "$dest.tmp" "$dest"
    fi
    GO="$dest/bin/go"
    export GOTOOLCHAIN=local
  fi
  export GO
  echo "toolchain.sh: using $("$GO" env GOVERSION) ($GO)" >&2
}
