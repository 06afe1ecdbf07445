"""A throwaway PostgreSQL 15 for tests: Debian's binaries, a cluster in a temporary folder,
reached over a Unix socket in that folder only (no TCP port, so nothing to collide with and no
system cluster touched). As root the server runs as `postgres` through runuser."""

import os
import pwd
import shutil
import subprocess
import tempfile
import time

BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    def __init__(self, root=None):
        if not os.path.exists(os.path.join(BIN, "pg_ctl")):
            raise RuntimeError("PostgreSQL 15 is not installed (apt-get install postgresql-15; make test installs it)")
        self.root = root or tempfile.mkdtemp(prefix="creditgate-pg-")
        os.makedirs(self.root, exist_ok=True)
        self.data = os.path.join(self.root, "data")
        self.socket_dir = self.root
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run([f"{BIN}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        self.start()
        self._run([f"{BIN}/createdb", "-h", self.socket_dir, "-U", "postgres", "creditgate"])
        self.url = f"host={self.socket_dir} user=postgres dbname=creditgate"

    def _run(self, args, check=True):
        if self.as_root:
            args = ["runuser", "-u", "postgres", "--"] + args
        # From the server's own folder: `postgres` may not enter the caller's (say, under /root).
        result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=120, cwd=self.root)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[-1] if args else ''}: {result.stderr.decode(errors='replace')}")
        return result

    def start(self):
        # fsync off: a test cluster is thrown away; listen on the socket only.
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-l", os.path.join(self.root, "server.log"),
                   "-o", f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off -c max_connections=200", "start"])

    def stop(self, mode="fast"):
        self._run([f"{BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", mode, "stop"], check=False)

    def sql(self, query):
        """Rows of one query, through psql (postgresql-client-15, which postgresql-15 depends on)."""
        out = self._run(["psql", "-h", self.socket_dir, "-U", "postgres", "-d", "creditgate", "-At", "-F", "|", "-c", query])
        return [line.split("|") for line in out.stdout.decode().splitlines() if line]

    def close(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv):
    """For ctest fixtures: `pg.py start FOLDER` starts a server and writes its conninfo to
    FOLDER/url; `pg.py stop FOLDER` stops it. The server itself lives in a temporary folder under
    /tmp: `postgres` may not enter FOLDER's parents (a clone under /root, say)."""
    import sys
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print("usage: pg.py start|stop FOLDER", file=sys.stderr)
        return 2
    folder = os.path.abspath(argv[2])
    os.makedirs(folder, exist_ok=True)
    root_file = os.path.join(folder, "root")
    if argv[1] == "start":
        server = Postgres()
        with open(root_file, "w") as f:
            f.write(server.root)
        with open(os.path.join(folder, "url"), "w") as f:
            f.write(server.url)
        return 0
    if os.path.exists(root_file):
        with open(root_file) as f:
            root = f.read().strip()
        server = Postgres.__new__(Postgres)
        server.root, server.data, server.as_root = root, os.path.join(root, "data"), os.geteuid() == 0
        server.close()
        os.remove(root_file)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
