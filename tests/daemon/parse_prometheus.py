"""Parses a Prometheus text exposition with prometheus_client (not our code) and prints it as
JSON: [{name, type, help, samples: [{name, labels, value}]}]. Exits non-zero when the text
does not parse. Used by tests/daemon/metrics_test.cpp."""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def value(v):
    return v if math.isfinite(v) else repr(v)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    families = []
    for family in text_string_to_metric_families(text):
        families.append({
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [{"name": s.name, "labels": s.labels, "value": value(s.value)} for s in family.samples],
        })
    json.dump(families, sys.stdout)


if __name__ == "__main__":
    main()
