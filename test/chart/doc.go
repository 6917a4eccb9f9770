// Package chart holds the tests of what a platform team installs: the Helm chart in
// charts/ltv-operator (lint, rendering, RBAC and CRDs identical to config/, a restricted pod,
// the values schema) and the monitoring bundle (config/prometheus, config/grafana and the chart's
// copies), whose every metric must be one the operator exports.
//
// The chart tests run bin/helm (`make helm`); without it they skip, except in CI (CI set), where
// they fail.
package chart
