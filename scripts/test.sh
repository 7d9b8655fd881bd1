#!/usr/bin/env bash
# The one test command (README: "Run the tests"). Installs what the tests
# use when it can (openssl, tmux, Xvfb, xclip), then runs the format check,
# clippy and the whole test suite. Tests whose program is still missing
# print "SKIPPED: <reason>" instead of failing silently.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v openssl >/dev/null || need+=(openssl)
command -v tmux >/dev/null || need+=(tmux)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xclip >/dev/null || need+=(xclip)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } || true
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    echo "installing test tools: ${need[*]}"
    if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null; }; then
      echo "note: could not install ${need[*]}; the tests that need them will be SKIPPED"
    fi
  else
    echo "note: ${need[*]} missing and cannot be installed here; the tests that need them will be SKIPPED"
  fi
fi

# The official Alibaba Cloud SDKs that tests/api_sdk.rs drives `serve`
# with, in a venv under target/ (pinned: the versions the wire reference
# was measured with). Without them those tests print SKIPPED, unless
# ESA_CERTS_REQUIRE_SDK is set (CI sets it), where they fail.
venv=target/sdk-venv
if ! "$venv/bin/python" -c 'import alibabacloud_esa20240910, aliyunsdkcore' 2>/dev/null; then
  echo "installing the Alibaba Cloud SDKs into $venv"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
      alibabacloud-esa20240910==3.16.0 aliyun-python-sdk-core==2.16.1; }; then
    echo "note: could not install the Alibaba Cloud SDKs; tests/api_sdk.rs will be SKIPPED"
  fi
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test "$@"
