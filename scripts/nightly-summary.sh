#!/usr/bin/env bash
# Put the nightly's verdict on the job page: append reports/latest/nightly-summary.md to
# $GITHUB_STEP_SUMMARY, or say that there is none (the job died before the gate: read its log).
# Usage: scripts/nightly-summary.sh [REPORTS_DIR]   (default: reports)
set -euo pipefail

reports=${1:-reports}
page=${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set: this runs inside GitHub Actions}
summary=$reports/latest/nightly-summary.md

if [ -f "$summary" ]; then
  cat "$summary" >>"$page"
else
  echo "The nightly wrote no summary: it stopped before the gate. See the job log and the artifact." >>"$page"
fi
