"""Checks: the ok/FAIL tally shared by the deploy checkers.

    check = Checks()
    check(value == 1, "value is one")
    check.finish()   # prints "N passed, N failed" and exits non-zero on any failure
"""
import sys


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}", file=sys.stderr)
        return ok

    def check(self, ok, what):
        return self(ok, what)

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
