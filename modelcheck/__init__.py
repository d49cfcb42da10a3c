"""modelcheck: deterministic simulation and model checking for distributed protocols.

The engine knows nothing about WAL or Paxos: it runs tasks and sans-I/O actors
one step at a time under virtual time, over a simulated network and disk, with
every nondeterministic decision drawn from one chooser (see ``choice``).
"""

__version__ = "0.1.0"
