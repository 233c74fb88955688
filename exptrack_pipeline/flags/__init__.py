"""exptrack's feature flags on the open standard: flagd flag definitions that exptrack writes and OpenFeature SDKs
evaluate.

definition (flagd JSON of one flag, integer weights) · desired (what a flag serves for a status) · store (state tables:
every change with who/why/when, every file write) · plan (changes from the warehouse, in the caller's transaction) ·
files (atomic temp+rename) · sync (plan + write, drift detection) · controller (the `flagd` feature-flag controller of
the monitoring feature) · hook (the OpenFeature exposure-logging hook for applications).
"""
