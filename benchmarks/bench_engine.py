"""Engine throughput: ping-pong of 100,000 messages between two nodes.

Runs, side by side in one process, the same workload on
1. modelcheck's executor + network (two nodes, delays drawn from Delay(1, 5),
   every message through the simulated connection; event log off and on),
2. SimPy, the usual Python discrete-event simulator (two processes, two
   Stores, each message delivered by a timeout callback after a random delay),
3. a bare heapq loop that only pops and pushes timestamps (the floor), and
   the same loop calling one Python function per event (a callback floor).

Prints messages per second for each and the ratios. Usage:
    python benchmarks/bench_engine.py [--messages N] [--repeat R]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time

from modelcheck.network import Delay, NetworkOptions
from modelcheck.world import World


def run_modelcheck(messages: int, log_events: bool) -> float:
    opts = NetworkOptions(keepalive_timeout=None, connect_delay=Delay(1, 5), send_delay=Delay(1, 5))
    world = World(1, network=opts, log_events=log_events)
    ping, pong = world.add_node("ping"), world.add_node("pong")
    half = messages // 2

    async def server() -> None:
        inbox = pong.inbox
        send = world.send
        while True:
            event = await inbox.recv()
            if event[0] == "msg":
                send(event[1], event[2] + 1)

    async def client() -> None:
        ep = world.connect(ping, pong.nid)
        inbox = ping.inbox
        send = world.send
        send(ep, 0)
        got = 0
        while got < half:
            event = await inbox.recv()
            got += 1
            if got < half:
                send(ep, event[2] + 1)

    world.spawn(pong, server(), "server", daemon=True)
    world.spawn(ping, client(), "client")
    start = time.perf_counter()
    world.run()
    elapsed = time.perf_counter() - start
    assert world.network.messages_delivered == messages, world.network.messages_delivered
    return elapsed


def run_simpy(messages: int) -> float:
    import simpy

    env = simpy.Environment()
    rng = random.Random(1)
    to_pong, to_ping = simpy.Store(env), simpy.Store(env)
    half = messages // 2
    delivered = [0]

    def transmit(store: simpy.Store, value: int) -> None:
        ev = env.timeout(rng.randint(1, 5))

        def arrive(_event: object) -> None:
            delivered[0] += 1
            store.put(value)

        ev.callbacks.append(arrive)

    def server():
        while True:
            value = yield to_pong.get()
            transmit(to_ping, value + 1)

    def client():
        transmit(to_pong, 0)
        for got in range(1, half + 1):
            value = yield to_ping.get()
            if got < half:
                transmit(to_pong, value + 1)

    env.process(server())
    done = env.process(client())
    start = time.perf_counter()
    env.run(until=done)
    elapsed = time.perf_counter() - start
    assert delivered[0] == messages, delivered[0]
    return elapsed


def run_bare_heapq(messages: int) -> float:
    heap: list[tuple[int, int]] = [(0, 0)]
    push, pop = heapq.heappush, heapq.heappop
    start = time.perf_counter()
    for i in range(messages):
        t, _ = pop(heap)
        push(heap, (t + 1 + i % 5, i))
    elapsed = time.perf_counter() - start
    return elapsed


def run_heapq_callbacks(messages: int) -> float:
    """A minimal callback event loop: each event is a function call that schedules the next."""
    heap: list = []
    push, pop = heapq.heappush, heapq.heappop
    seq = [0]

    def deliver(t: int, i: int) -> None:
        if i < messages:
            seq[0] += 1
            push(heap, (t + 1 + i % 5, seq[0], deliver, i + 1))

    push(heap, (0, 0, deliver, 0))
    start = time.perf_counter()
    while heap:
        t, _, fn, i = pop(heap)
        fn(t, i)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs")
    args = parser.parse_args()
    n = args.messages
    runs = {
        "modelcheck (event log off)": lambda: run_modelcheck(n, False),
        "modelcheck (event log on)": lambda: run_modelcheck(n, True),
        "simpy": lambda: run_simpy(n),
        "bare heapq loop": lambda: run_bare_heapq(n),
        "heapq loop + callback": lambda: run_heapq_callbacks(n),
    }
    best = {}
    for _ in range(args.repeat):  # interleave, so machine noise hits all alike
        for name, fn in runs.items():
            t = fn()
            best[name] = min(best.get(name, t), t)
    print(f"ping-pong, {n:,} messages, best of {args.repeat}")
    print(f"{'engine':30} {'seconds':>9} {'msgs/s':>12}")
    for name, t in best.items():
        print(f"{name:30} {t:9.3f} {n / t:12,.0f}")
    ours = best["modelcheck (event log off)"]
    print(f"modelcheck vs simpy:      {best['simpy'] / ours:5.2f}x faster")
    print(f"modelcheck vs bare loop:  {ours / best['bare heapq loop']:5.2f}x slower (goal < 5x)")
    print(f"modelcheck vs callback loop: {ours / best['heapq loop + callback']:5.2f}x slower")
    logged = best["modelcheck (event log on)"]
    print(f"with event log vs simpy:  {best['simpy'] / logged:5.2f}x faster")


if __name__ == "__main__":
    main()
