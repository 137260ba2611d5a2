"""M/M/c in salabim, written the way its documentation teaches: a Resource with c units, a
generator of customer components, each requesting a unit and holding it for its service."""
import random

import salabim as sim

from common import arguments, report


def main():
    args, workers, lam = arguments()
    sim.yieldless(False)
    env = sim.Environment(trace=False, random_seed=args.seed)
    rng = random.Random(args.seed)
    servers = sim.Resource("servers", capacity=workers)
    sojourns = []

    class Customer(sim.Component):
        def process(self):
            arrived = env.now()
            yield self.request(servers)
            yield self.hold(rng.expovariate(1.0))
            self.release()
            sojourns.append(env.now() - arrived)
            if len(sojourns) == args.customers:
                env.main().activate()

    class Arrivals(sim.Component):
        def process(self):
            while True:
                Customer()
                yield self.hold(rng.expovariate(lam))

    Arrivals()
    env.run()
    report("salabim", sim.__version__, sojourns)


if __name__ == "__main__":
    main()
