"""Runs one e2e script against the AddressSanitizer + UBSan build of creditgate and fails when
the sanitizers reported anything, even if the script itself passed: a use after free at
shutdown or a leak does not change what clients see, only what the sanitizer log says.

Usage: run_sanitized.py BINARY SCRIPT"""

import glob
import os
import subprocess
import sys
import tempfile


def main():
    binary, script = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="creditgate-asan-") as logs:
        env = dict(os.environ)
        env["CREDITGATE_BIN"] = binary
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["CREDITGATE_SANITIZED"] = "1"  # scripts skip what the sanitizer distorts (RSS bounds)
        # Reports go to files named by pid: every creditgate the script starts is checked.
        env["ASAN_OPTIONS"] = f"log_path={logs}/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
        env["UBSAN_OPTIONS"] = f"log_path={logs}/ubsan:print_stacktrace=1"
        status = subprocess.call([sys.executable, script], env=env)
        reports = sorted(glob.glob(os.path.join(logs, "*")))
        for path in reports:
            with open(path, errors="replace") as f:
                sys.stderr.write(f"--- {os.path.basename(path)}\n{f.read()}\n")
        if reports:
            sys.stderr.write(f"{len(reports)} sanitizer report(s) from {os.path.basename(script)}\n")
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main())
