"""``thinghub demo``: thinghub with a simulated vendor cloud and its connector, end to end.

| Module | What it is |
| --- | --- |
| `orchestrator` | the run: start, set up, command, live loop, stop |
| `processes` | the child processes (thinghub, the Acme cloud, the webhook receiver) |
| `workspace` | the data directory, the generated config, where `examples/` is |
| `customer` | the managed integrations calls a customer makes, through stock boto3 |
| `household` | the simulated devices and the physical world that changes them |
| `commands` | the commands the demo sends |
| `states` | thinghub's view of the things' state, and what changed |
| `livelog` | the live log (rich) |
| `lookaround` | how to look around with the AWS CLI or boto3 while it runs |
"""

from thinghub.demo.orchestrator import Options, run_demo

__all__ = ["Options", "run_demo"]
