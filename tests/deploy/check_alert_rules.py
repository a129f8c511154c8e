#!/usr/bin/env python3
"""Checks deploy/prometheus/alerts.yml against its unit tests and the chart's PrometheusRule.

Usage: check_alert_rules.py ALERTS_YML ALERTS_TEST_YML CHART_RENDER_YAML OUT_RULES_YML
  - every alert of ALERTS_YML has a promtool case where it fires and one where it stays silent;
  - the PrometheusRule in CHART_RENDER_YAML (rendered with default thresholds and with
    larder-proxy enabled, so that it holds every group) has the same groups and rules as
    ALERTS_YML, whitespace aside;
  - its groups are written to OUT_RULES_YML so that promtool can run the same unit tests on them.
"""
import sys

from checks import Checks

import yaml


def normalize(value):
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    alerts_path, tests_path, render_path, out_path = sys.argv[1:]
    check = Checks()

    with open(alerts_path) as f:
        groups = yaml.safe_load(f)["groups"]
    alerts = [r["alert"] for g in groups for r in g["rules"] if "alert" in r]
    check(len(alerts) >= 4, f"alerts.yml defines the alerts ({', '.join(alerts)})")
    for rule in (r for g in groups for r in g["rules"]):
        check(rule.get("labels", {}).get("severity") in ("warning", "critical"),
              f"{rule['alert']}: severity is warning or critical")
        check(bool(rule.get("annotations", {}).get("summary"))
              and bool(rule.get("annotations", {}).get("description")),
              f"{rule['alert']}: has a summary and a description")

    with open(tests_path) as f:
        tests = yaml.safe_load(f)["tests"]
    cases = [c for t in tests for c in t.get("alert_rule_test", [])]
    for alert in alerts:
        fires = [c for c in cases if c["alertname"] == alert and c.get("exp_alerts")]
        silent = [c for c in cases if c["alertname"] == alert and not c.get("exp_alerts")]
        check(bool(fires), f"{alert}: a unit test expects it to fire")
        check(bool(silent), f"{alert}: a unit test expects it to stay silent")

    with open(render_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    if not rules:
        check(False, "the chart renders a PrometheusRule")
    else:
        chart_groups = rules[0]["spec"]["groups"]
        names = [g["name"] for g in groups]
        chart_names = [g["name"] for g in chart_groups]
        check(chart_names == names,
              f"the chart's PrometheusRule has the groups of alerts.yml {names} (got {chart_names})")
        check(normalize(chart_groups) == normalize(groups),
              "the chart's PrometheusRule has the rules of alerts.yml")
        if normalize(chart_groups) != normalize(groups):
            for mine, theirs in zip((r for g in groups for r in g["rules"]),
                                    (r for g in chart_groups for r in g["rules"])):
                if normalize(mine) != normalize(theirs):
                    print(f"  alerts.yml: {normalize(mine)}\n  chart:      {normalize(theirs)}",
                          file=sys.stderr)
        with open(out_path, "w") as f:
            yaml.safe_dump({"groups": chart_groups}, f, sort_keys=False)

    check.finish()


if __name__ == "__main__":
    main()
