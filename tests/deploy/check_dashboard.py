#!/usr/bin/env python3
"""Checks deploy/grafana/larder-dashboard.json: importable, variables, panels and queries.

Usage: check_dashboard.py DASHBOARD_JSON OUT_RULES_YML
Every panel query, with $namespace, $instance and $proxy replaced by their "All" value (.*), is
written to OUT_RULES_YML as a recording rule so that `promtool check rules` can parse it as
PromQL.
Queries of larder-proxy's families filter on $proxy, the proxy instances.
"""
import json
import re
import sys

from checks import Checks

import yaml

VARIABLES = {"namespace": ".*", "instance": ".*", "proxy": ".*"}
PROXY_FILTER = 'instance=~"$proxy"'
DATASOURCE = "${datasource}"


def substitute(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
    return expr


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, out_path = sys.argv[1:]
    check = Checks()

    try:
        with open(path) as f:
            dash = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        check(False, f"{path} parses as JSON: {e}")
        check.finish()
    check(True, "the dashboard parses as JSON")
    check(bool(dash.get("uid")) and bool(dash.get("title")), "the dashboard has a uid and a title")
    check(isinstance(dash.get("schemaVersion"), int), "the dashboard has a schemaVersion")
    check("id" not in dash or dash["id"] is None, "no instance-specific dashboard id")

    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "a Prometheus datasource variable named datasource")
    for name in VARIABLES:
        var = variables.get(name, {})
        if check(var.get("type") == "query", f"a query variable named {name}"):
            check(var.get("datasource", {}).get("uid") == DATASOURCE,
                  f"variable {name} queries ${{datasource}}")
            check(var.get("includeAll") is True and var.get("allValue") == ".*",
                  f"variable {name} has an All value of .*")

    panels = []
    for panel in dash.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    ids = [p.get("id") for p in panels]
    check(len(ids) == len(set(ids)), "panel ids are unique")

    rules = []
    titles = []
    for panel in panels:
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "")
        titles.append(title)
        check(bool(title) and bool(panel.get("description")),
              f"panel {title!r} has a title and a description")
        check(panel.get("datasource", {}).get("uid") == DATASOURCE,
              f"panel {title!r} uses ${{datasource}}")
        targets = panel.get("targets", [])
        if not check(bool(targets), f"panel {title!r} has targets"):
            continue
        for t in targets:
            expr = t.get("expr", "")
            ref = t.get("refId", "?")
            if not check(bool(expr.strip()), f"panel {title!r} target {ref} has an expr"):
                continue
            check(t.get("datasource", {}).get("uid") == DATASOURCE,
                  f"panel {title!r} target {ref} uses ${{datasource}}")
            if "larder_proxy_" in expr:
                check(PROXY_FILTER in expr,
                      f"panel {title!r} target {ref} filters larder-proxy series on $proxy")
            concrete = substitute(expr)
            leftover = re.findall(r"\$\{?\w+", concrete)
            check(not leftover,
                  f"panel {title!r} target {ref} uses only $namespace, $instance and $proxy "
                  f"(left: {leftover})")
            rules.append({"record": f"larder_dashboard:panel{panel['id']}:{ref.lower()}",
                          "expr": concrete})
    check(len(rules) >= 10, f"the dashboard has queries ({len(rules)})")

    text = " ".join(titles).lower()
    for needed in ("hit ratio by namespace (server)", "hit ratio by namespace (client)",
                   "requests/s by method and code", "p50", "p99", "http responses by cache result",
                   "entries", "bytes", "evictions", "expirations", "errors",
                   "proxy requests/s by cache status", "proxy hit ratio by route",
                   "upstream latency", "upstream errors", "coalesced", "fail-open",
                   "proxy batched lookups"):
        check(needed in text, f"a panel covers {needed!r}")
    exprs = " ".join(r["expr"] for r in rules)
    for metric in ("larder_requests_total", "larder_request_duration_seconds_bucket",
                   "larder_cache_hits_total", "larder_cache_misses_total", "larder_entries",
                   "larder_stored_bytes", "larder_evictions_total", "larder_expirations_total",
                   "larder_engine_errors_total", "larder_client_requests_total",
                   "larder_client_request_duration_seconds_bucket",
                   "larder_client_singleflight_waits_total", "larder_client_coder_errors_total",
                   "larder_http_responses_total", "larder_proxy_requests_total",
                   "larder_proxy_upstream_seconds_bucket", "larder_proxy_upstream_errors_total",
                   "larder_proxy_coalesced_waits_total", "larder_proxy_request_body_refused_total",
                   "larder_client_lookup_errors_total", "larder_proxy_lookup_batches_total",
                   "larder_proxy_batched_lookups_total"):
        check(metric in exprs, f"a query reads {metric}")

    with open(out_path, "w") as f:
        yaml.safe_dump({"groups": [{"name": "larder-dashboard", "rules": rules}]}, f,
                       sort_keys=False, width=1000)
    check.finish()


if __name__ == "__main__":
    main()
