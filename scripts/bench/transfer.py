"""Upload, hashing and fetch throughput of sweepd's data transfer (see scripts/bench/transfer)."""

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time


def write_csv(path, size_mb, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("a,b,c,label\n")
        written = 0
        while written < size_mb << 20:
            line = f"{rng.random():.6f},{rng.random():.6f},{rng.random():.6f},{rng.randint(0, 1)}\n"
            f.write(line)
            written += len(line)


def timed(command, **kwargs):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweepd", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=256)
    args = parser.parse_args()
    sweepd = os.path.abspath(args.sweepd)
    rows = {"hash": [], "sha256sum": [], "upload": [], "fetch": []}
    for round_index in range(args.rounds):
        work = tempfile.mkdtemp(prefix="sweepd-transfer-")
        try:
            keys = os.path.join(work, "keys")
            for name in ("coordinator", "worker", "operator"):
                subprocess.run([sweepd, "keygen", "--out", keys, "--name", name], check=True, capture_output=True)
            submitter = os.path.join(work, "submitter")
            worker_home = os.path.join(work, "worker")
            os.makedirs(submitter)
            os.makedirs(worker_home)
            csv = os.path.join(submitter, "big.csv")
            write_csv(csv, args.size_mb, round_index)
            size = os.path.getsize(csv)
            with open(os.path.join(submitter, "sweep.yaml"), "w") as f:
                f.write("method: grid\ndata: {dataset: csv, path: big.csv}\nmodel: {kind: logistic}\n"
                        "training: {epochs: 1, batch_size: 4096}\nparameters:\n  lr: {values: [0.1]}\n")
            coordinator_log = open(os.path.join(work, "coordinator.log"), "w")
            coordinator = subprocess.Popen(
                [sweepd, "coordinator", "--bind", "tcp://127.0.0.1:5599", "--db", os.path.join(work, "c.db"),
                 "--curve-secret-key", os.path.join(keys, "coordinator.key"),
                 "--authorized-keys", os.path.join(keys, "worker.pub"),
                 "--operator-keys", os.path.join(keys, "operator.pub")],
                stdout=coordinator_log, stderr=subprocess.STDOUT)
            time.sleep(1)
            env = dict(os.environ, SWEEPD_CURVE_SERVER_KEY=os.path.join(keys, "coordinator.pub"),
                       SWEEPD_CURVE_SECRET_KEY=os.path.join(keys, "operator.key"))
            submit = [sweepd, "submit", "sweep.yaml", "--coordinator", "tcp://127.0.0.1:5599"]
            upload_seconds, _ = timed(submit, cwd=submitter, env=env)
            hash_seconds, again = timed(submit, cwd=submitter, env=env)
            if "upload" in again.stderr:
                raise SystemExit("the second submit uploaded again")
            sha_seconds, _ = timed(["sha256sum", csv])
            worker_log_path = os.path.join(work, "worker.log")
            worker_log = open(worker_log_path, "w")
            worker = subprocess.Popen(
                [sweepd, "worker", "--connect", "tcp://127.0.0.1:5599", "--slots", "1",
                 "--curve-server-key", os.path.join(keys, "coordinator.pub"),
                 "--curve-secret-key", os.path.join(keys, "worker.key")],
                cwd=worker_home, stdout=worker_log, stderr=subprocess.STDOUT,
                env=dict(os.environ, SWEEPD_DATA_CACHE=os.path.join(worker_home, "cache")))
            fetch_seconds = None
            for _ in range(600):
                text = open(worker_log_path).read()
                match = re.search(r"fetched data big\.csv \((\d+) bytes.*?\) in ([0-9.]+) s", text)
                if match:
                    assert int(match.group(1)) == size
                    fetch_seconds = float(match.group(2))
                    break
                time.sleep(0.1)
            # The worker would go on to train on the file: measured enough.
            worker.kill()
            coordinator.terminate()
            worker.wait(timeout=30)
            coordinator.wait(timeout=30)
            if fetch_seconds is None:
                raise SystemExit("the worker never fetched the file:\n" + open(worker_log_path).read())
            mib = size / 2**20
            rows["upload"].append(mib / upload_seconds)
            rows["hash"].append(mib / hash_seconds)
            rows["sha256sum"].append(mib / sha_seconds)
            rows["fetch"].append(mib / fetch_seconds)
            print(f"round {round_index + 1}: {mib:.0f} MiB; upload {mib / upload_seconds:.0f} MiB/s, "
                  f"hash {mib / hash_seconds:.0f} MiB/s (sha256sum {mib / sha_seconds:.0f}), "
                  f"fetch {mib / fetch_seconds:.0f} MiB/s", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"| {args.size_mb} MiB CSV over loopback, CURVE on (median of {args.rounds}) | MiB/s |")
    print("|---|---:|")
    print(f"| submit of a new file (hash, upload, coordinator verifies) | {statistics.median(rows['upload']):.0f} |")
    print(f"| submit of a known file (hash only) | {statistics.median(rows['hash']):.0f} |")
    print(f"| coreutils sha256sum, same file | {statistics.median(rows['sha256sum']):.0f} |")
    print(f"| worker fetch (download, hash, write) | {statistics.median(rows['fetch']):.0f} |")


if __name__ == "__main__":
    main()
