"""Hosts a c10d TCPStore the way torchrun's agent does, for the agent-store test of test/dist/collectives.test.ts.

Usage: python3 agent_store.py <port> <world> <worker.js> <scenario>: starts the store on 127.0.0.1:<port>, then
<world> workers `node <worker.js> <scenario>` with torchrun's environment and TORCHELASTIC_USE_AGENT_STORE=True (rank 0
must connect to this store instead of hosting one), and prints each worker's exit status and output as JSON lines.
"""
import json
import os
import subprocess
import sys

import torch.distributed as dist

port, world, worker, scenario = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
store = dist.TCPStore("127.0.0.1", port, world, True, wait_for_workers=False)
env = dict(os.environ, TORCHELASTIC_USE_AGENT_STORE="True", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
           WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world))
procs = [subprocess.Popen(["node", worker, scenario],
                          env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) for r in range(world)]
for p in procs:
    out, err = p.communicate(timeout=120)
    print(json.dumps({"status": p.returncode, "stdout": out, "stderr": err}))
