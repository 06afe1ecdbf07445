"""Test PKI made with the openssl command line: a test CA, leaves for given host names, a
self-signed certificate nobody trusts, all ECDSA P-256, written to a folder. No key is
ever committed: every test run makes its own."""

import os
import subprocess


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(folder, name="creditgate-test-ca"):
    os.makedirs(folder, exist_ok=True)
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=folder)
    _run("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "30", "-subj", f"/CN={name}",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", "ca.pem", cwd=folder)
    return os.path.join(folder, "ca.pem")


def make_leaf(folder, stem, hosts, ca_dir=None):
    """A leaf for `hosts` signed by the CA in ca_dir, or self-signed when ca_dir is None."""
    key, csr, pem = f"{stem}.key", f"{stem}.csr", f"{stem}.pem"
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key, cwd=folder)
    san = ",".join(f"DNS:{h}" for h in hosts)
    ext = os.path.join(folder, f"{stem}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    if ca_dir is None:
        _run("req", "-x509", "-new", "-key", key, "-sha256", "-days", "30", "-subj", f"/CN={hosts[0]}",
             "-addext", f"subjectAltName={san}", "-out", pem, cwd=folder)
    else:
        _run("req", "-new", "-key", key, "-subj", f"/CN={hosts[0]}", "-out", csr, cwd=folder)
        _run("x509", "-req", "-in", csr, "-CA", os.path.join(ca_dir, "ca.pem"), "-CAkey", os.path.join(ca_dir, "ca.key"),
             "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext, "-out", pem, cwd=folder)
    return os.path.join(folder, pem), os.path.join(folder, key)
