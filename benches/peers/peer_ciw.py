"""M/M/c in Ciw, written the way its documentation teaches: a one-node network run until
enough customers have completed, then read back from its records."""
import ciw

from common import arguments, report


def main():
    args, workers, lam = arguments()
    ciw.seed(args.seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[workers],
    )
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_customers(args.customers, method="Complete")
    served = [r for r in simulation.get_all_records() if r.record_type == "service"]
    served.sort(key=lambda r: r.exit_date)
    sojourns = [r.exit_date - r.arrival_date for r in served[: args.customers]]
    report("Ciw", ciw.__version__, sojourns)


if __name__ == "__main__":
    main()
