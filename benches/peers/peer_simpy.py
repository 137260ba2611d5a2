"""M/M/c in SimPy, written the way its documentation teaches: a Resource with c slots and one
process per customer."""
import random

import simpy

from common import arguments, report


def main():
    args, workers, lam = arguments()
    rng = random.Random(args.seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=workers)
    sojourns = []
    enough = env.event()

    def customer(arrived):
        with servers.request() as turn:
            yield turn
            yield env.timeout(rng.expovariate(1.0))
        sojourns.append(env.now - arrived)
        if len(sojourns) == args.customers:
            enough.succeed()

    def arrivals():
        while True:
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env.now))

    env.process(arrivals())
    env.run(until=enough)
    report("SimPy", simpy.__version__, sojourns)


if __name__ == "__main__":
    main()
