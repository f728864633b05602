#!/usr/bin/python3
# The erasure coders the benchmarks compare codex-encode with, driven as their
# projects drive them (run with Debian's /usr/bin/python3):
#   peers.py zfec K N FILE DIR       Tahoe-LAFS's zfec: K-of-N share files, as
#                                    its `zfec` command writes them (filefec)
#   peers.py pyeclib K M FILE DIR    OpenStack Swift's PyECLib, isa_l_rs_cauchy:
#                                    1 MiB segments, each coded into K+M
#                                    fragments appended to K+M fragment files
# Neither hashes anything; both only code and write.
import os
import sys
import types


def zfec_shares(k, n, path, out_dir):
    # Debian's python3-zfec lacks the pyutil package its filefec imports for
    # three small helpers; stand-ins let the real encode_to_files run.
    pyutil = types.ModuleType("pyutil")
    pyutil.__path__ = []
    fileutil = types.ModuleType("pyutil.fileutil")
    fileutil.remove_if_possible = lambda name: os.path.exists(name) and os.remove(name)
    mathutil = types.ModuleType("pyutil.mathutil")
    mathutil.pad_size = lambda n, k: (k - n % k) % k

    def log_ceil(n, b):  # the least p with b**p >= n
        p, x = 0, 1
        while x < n:
            x, p = x * b, p + 1
        return p

    mathutil.log_ceil = log_ceil
    pyutil.fileutil, pyutil.mathutil = fileutil, mathutil
    sys.modules.update({"pyutil": pyutil, "pyutil.fileutil": fileutil, "pyutil.mathutil": mathutil})
    from zfec import filefec

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        rc = filefec.encode_to_files(f, size, out_dir, os.path.basename(path), k, n, overwrite=True)
    if rc != 0:
        sys.exit("zfec failed")


def pyeclib_fragments(k, m, path, out_dir, segment=1 << 20):
    from pyeclib.ec_iface import ECDriver

    driver = ECDriver(k=k, m=m, ec_type="isa_l_rs_cauchy")
    outs = [open(os.path.join(out_dir, "frag-%02d" % i), "wb") for i in range(k + m)]
    with open(path, "rb") as f:
        while True:
            data = f.read(segment)
            if not data:
                break
            for out, fragment in zip(outs, driver.encode(data)):
                out.write(fragment)
    for out in outs:
        out.close()


if __name__ == "__main__":
    kind, a, b, path, out_dir = sys.argv[1:6]
    os.makedirs(out_dir, exist_ok=True)
    if kind == "zfec":
        zfec_shares(int(a), int(b), path, out_dir)
    elif kind == "pyeclib":
        pyeclib_fragments(int(a), int(b), path, out_dir)
    else:
        sys.exit("unknown peer " + kind)
